"""Urgent alerts: /urgent, /alerts, /intake and the buttons on an alert.

``router`` registers the handlers; ``commands`` answers the commands, ``answers`` the
alert's buttons (acknowledge, resolve, snooze, log); ``filters`` loads the alert a button
names as far as the presser may see it, and reads /intake's words; ``views`` and
``keyboards`` draw. Alert pages themselves are sent by the alert engine
(bot.services.alerts, bot.views.alert_render).
"""

from handlers.alerts.router import create_router

__all__ = ["create_router"]
