"""Moderation: roles, reports and the queue, hiding, locks, pins, bans, new-member holds, audit log."""
