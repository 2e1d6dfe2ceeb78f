"""The HTTP API and TV dashboard: queries over the read model, ingest, broadcasts, live stream."""
