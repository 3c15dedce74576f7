"""Client cards: /newclient, /clients, /client, /alias and the card's buttons.

``router`` registers the handlers; ``commands`` answers the commands, ``card`` the card's
buttons, ``fields`` the value typed for a field; ``filters`` loads the user's own client for
a button, ``views`` and ``keyboards`` draw the card and the list.
"""

from handlers.clients.router import create_router

__all__ = ["create_router"]
