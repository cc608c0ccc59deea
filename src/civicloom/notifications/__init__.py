"""Notifications: channels, templates and delivery through the outbox."""
