"""The in-memory projection and the batch oracle every streaming test compares against."""
