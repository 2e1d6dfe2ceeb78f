"""Queries over a ReadModel: goals, funnel, behaviour, plan, daily report, leaderboards, preview."""
