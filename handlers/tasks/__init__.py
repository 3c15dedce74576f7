"""Tasks: one-line /task, the guided dialog, the task card and its buttons, /done, /undo, /edit.

``router`` wires updates to the handlers in ``create`` (new tasks), ``card`` (the card's
buttons), ``edits`` (answers to the card's questions) and ``commands``; ``filters`` load the
user's own task or client; ``keyboards`` are the ones only these handlers show. What other
features share (the task card, saving a task) is in ``bot.views.tasks``.
"""

from handlers.tasks.router import create_router

__all__ = ["create_router"]
