"""`salespulse demo`: the stack, workers, API and a live simulated sales org in one command."""
