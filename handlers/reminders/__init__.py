"""Reminders: the buttons on a reminder (done, snooze, pick a snooze time) and /hours."""

from handlers.reminders.router import create_router

__all__ = ["create_router"]
