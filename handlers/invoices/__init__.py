"""/invoice, /invoices and /currency: amounts owed, payment buttons, promises to pay, edits."""

from handlers.invoices.router import create_router

__all__ = ["create_router"]
