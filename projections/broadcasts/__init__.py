"""Announcements: what a batch announces (wins, milestones) and the broadcast log they go to."""
