"""Lists of tasks: /today, /overdue, /week, /nodate, paged, with a ✅ per task."""

from handlers.lists.router import create_router

__all__ = ["create_router"]
