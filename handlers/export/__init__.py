"""Your data: /export (CSV tables in a zip and an .ics of tasks), /import (clients from a
CSV file), /forget_me (delete everything, after a confirmation)."""

from handlers.export.router import create_router

__all__ = ["create_router"]
