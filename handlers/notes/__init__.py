"""Quick capture: any plain text (or media) is a note at once; /note, /notes, /find, edits.

``router`` registers the handlers (this router comes last but one: text nobody else wanted
becomes a note); ``capture`` saves a note and finds its client, ``actions`` answers a note's
buttons, ``commands`` the commands and typed text, ``find`` /find; ``filters`` loads the
user's own note for a button, ``views``, ``keyboards`` and ``media`` draw and send notes.
"""

from handlers.notes.router import create_router

__all__ = ["create_router"]
