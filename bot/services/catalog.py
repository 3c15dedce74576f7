"""The app's services as one typed object: built once and complete in the composition root
(bot/app.py create_services), handed to handlers as ``services`` and to the runtime."""

from __future__ import annotations

from dataclasses import dataclass

from bot.sender import Sender
from bot.services.alerts import AlertEngine, AlertService
from bot.services.invoices import InvoiceService
from bot.services.reminders import PlannedTasks, ReminderPlanner
from bot.services.series import SeriesService


@dataclass(frozen=True, slots=True)
class Services:
    """Each service once. Handlers reach repositories through ``repos`` (storage.Storage)
    and these through ``services``."""

    planner: ReminderPlanner
    # Task writes go through the planner so reminders always follow the task, atomically.
    tasks: PlannedTasks
    series: SeriesService
    invoices: InvoiceService
    alerts: AlertService
    # The bot's one outbound stream and the engine paging through it; None where nothing
    # is sent in the background (handler tests that drive no runtime).
    sender: Sender | None = None
    alert_engine: AlertEngine | None = None
