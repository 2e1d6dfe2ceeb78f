"""Pure message formats: one module per chat platform, a Note in, an HTTP request out."""
