"""salespulse package."""
