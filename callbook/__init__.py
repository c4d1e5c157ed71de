"""Persistence of what happened: calls, events, motives, tickets, revisions."""
