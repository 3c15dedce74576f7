"""Teams: create, invite by deep link, members, backups, handovers, and the lead's views.

``router`` registers the handlers; ``commands`` answers /start join-<code> and the /team
verbs, ``members`` the lead's buttons on a member, ``backup`` /backup and its buttons,
``handover`` /handover; ``filters`` reads verbs and loads the team, teammate or handover a
command or button names; ``views`` and ``keyboards`` draw (telling the other side of a
handover is bot/views/handovers.py).
"""

from handlers.team.router import create_router

__all__ = ["create_router"]
