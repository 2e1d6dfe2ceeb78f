"""The chat notifier: announcements from `sales.broadcasts` and digests to chat channels."""
