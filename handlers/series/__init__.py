"""/recurring: the user's recurring series, with buttons to pause, resume, change or stop."""

from handlers.series.router import create_router

__all__ = ["create_router"]
