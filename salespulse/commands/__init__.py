"""One module per `salespulse` subcommand, each with `add_parser(subparsers)` and `run(args)`."""
