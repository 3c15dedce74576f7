"""The Mini App in a real browser: Debian's Chromium driven by Playwright, against the real
backend (bot/webapp) on an aiohttp server of this process, over a seeded SQLite database and a
fixed clock.

Nothing is downloaded: Playwright launches /usr/bin/chromium (the `chromium` Debian package,
installed by .ci/run), and every request the page makes to anywhere but this test's server
(Telegram's script at telegram.org) is aborted, as with no internet. The page opens as Telegram
opens it: ``/app/#tgWebAppData=<signed initData>&tgWebAppThemeParams=...``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit

from aiohttp import web
from playwright.async_api import (
    Browser,
    BrowserContext,
    Page,
    Route,
    ViewportSize,
    async_playwright,
)
from pydantic import SecretStr

from bot.app import create_services
from bot.domain.dates import DateParser
from bot.i18n import create_i18n
from bot.services.catalog import Services
from bot.settings import Settings
from bot.webapp.server import add_webapp_routes
from storage.interfaces import Storage
from storage.models import ClientStatus, TaskKind
from tests.fakes.clock import NOW, FakeClock
from tests.init_data import signed_init_data

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# A phone held upright (an iPhone 12-15's CSS pixels).
PHONE: ViewportSize = {"width": 390, "height": 844}
BOT_TOKEN = "4242:BROWSER-TEST-TOKEN"
MARINA = 1001  # English, the seeded portfolio
OLGA = 1002  # Russian, one client of her own
# Telegram's default light theme, as it puts it into the URL.
THEME = {
    "bg_color": "#ffffff",
    "text_color": "#000000",
    "hint_color": "#999999",
    "link_color": "#2481cc",
    "button_color": "#2481cc",
    "button_text_color": "#ffffff",
    "secondary_bg_color": "#efeff3",
}


def make_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "bot_token": SecretStr(BOT_TOKEN),
        "default_timezone": "Europe/Moscow",
        "default_language": "en",
    }
    values.update(overrides)
    return Settings.model_validate(values)


def sign_init_data(
    user: dict[str, object],
    *,
    auth_date: datetime,
    token: str = BOT_TOKEN,
) -> str:
    return signed_init_data(user, auth_date=auth_date, token=token)


def telegram_user(user_id: int, first_name: str, language_code: str) -> dict[str, object]:
    return {
        "id": user_id,
        "first_name": first_name,
        "username": f"user{user_id}",
        "language_code": language_code,
        "allows_write_to_pm": True,
    }


def launch_url(base: str, init_data: str, query: str = "") -> str:
    """The page's address as Telegram opens it: launch data and theme in the fragment."""
    fragment = urlencode(
        {
            "tgWebAppData": init_data,
            "tgWebAppVersion": "8.0",
            "tgWebAppPlatform": "android",
            "tgWebAppThemeParams": json.dumps(THEME, separators=(",", ":")),
        },
        quote_via=quote,
    )
    return f"{base}/app/{query}#{fragment}"


@dataclass
class Portfolio:
    """Ids of the seeded rows, by name."""

    clients: dict[str, int] = field(default_factory=dict)
    tasks: dict[str, int] = field(default_factory=dict)
    invoices: dict[str, int] = field(default_factory=dict)


# The board's expected order, and why (bot/webapp/board.py):
BOARD_ORDER = [
    "Northwind",  # 2 overdue tasks
    "Acme",  # 1 overdue task
    "Globex",  # no overdue task; an invoice 12 days overdue
    "Initech",  # nothing due; 45 days without contact (30 allowed)
    "Hooli",  # within its 30 days, 10 days silent
    "Umbrella",  # within its 30 days, 2 days silent
]
FORMER = ["Oldco"]
TODAY_REPORT = "Send the monthly report to Umbrella"


async def seed(storage: Storage, services: Services) -> Portfolio:
    """Marina's portfolio (English) and Olga's one client (Russian), at NOW of the tests:
    Thursday 26 November 2026, 14:37 in Moscow."""
    days = timedelta(days=1)
    seeded = Portfolio()
    for user_id, language in ((MARINA, "en"), (OLGA, "ru")):
        await storage.users.ensure(user_id, NOW - 200 * days)
        await storage.users.set_language(user_id, language)
        await storage.users.set_timezone(user_id, "Europe/Moscow")

    async def client(name: str, created_days_ago: int, owner: int = MARINA) -> int:
        made = await storage.clients.create(owner, name, NOW - created_days_ago * days)
        seeded.clients[name] = made.id
        return made.id

    async def task(
        key: str, client_name: str, text: str, kind: TaskKind, due: datetime, owner: int = MARINA
    ) -> None:
        made = await services.tasks.create(
            owner, client_id=seeded.clients[client_name], text=text, kind=kind, due_at=due,
            now=NOW - 30 * days,
        )
        seeded.tasks[key] = made.id

    async def note(client_name: str, text: str, days_ago: int) -> None:
        await storage.notes.create(
            MARINA, text=text, client_id=seeded.clients[client_name], source_message_id=None,
            now=NOW - days_ago * days,
        )

    async def invoice(key: str, client_name: str, amount_minor: int, currency: str,
                      due: datetime) -> None:
        found = await storage.clients.get(MARINA, seeded.clients[client_name])
        assert found is not None
        made, _task = await services.invoices.create(
            found, amount_minor=amount_minor, currency=currency, due=due, note=None,
            task_text="Chase invoice #{number}",
        )
        seeded.invoices[key] = made.id

    for name, created in (
        ("Northwind", 120), ("Acme", 60), ("Globex", 60), ("Initech", 60), ("Hooli", 10),
        ("Umbrella", 60), ("Oldco", 300),
    ):
        await client(name, created)
    await storage.clients.set_status(MARINA, seeded.clients["Oldco"], ClientStatus.FORMER, NOW)

    # Northwind: two overdue tasks, silent for 120 days, a dollar invoice 40 days overdue.
    await task("northwind_call", "Northwind", "Call about the renewal", TaskKind.CALL,
               NOW - 1 * days)
    await task("northwind_report", "Northwind", "Q3 report", TaskKind.REPORT, NOW - 3 * days)
    await invoice("northwind_usd", "Northwind", 150_000, "USD", NOW - 40 * days)
    # Acme: a call due at 10:00 today (overdue by now), an invoice due in 10 days.
    await task("acme_call", "Acme", "Call Anna about the <b>new</b> brief", TaskKind.CALL,
               NOW.replace(hour=7, minute=0))
    await invoice("acme_rub", "Acme", 5_000_000, "RUB", NOW + 10 * days)
    await note("Acme", "Agreed on the December plan", 5)
    # Globex: an invoice 12 days overdue (its payment task is not an "overdue task").
    await invoice("globex_rub", "Globex", 12_000_000, "RUB", NOW - 12 * days)
    await note("Globex", "Sent the contract", 20)
    # Initech: 45 days without a word.
    await note("Initech", "Quarterly review done", 45)
    # Umbrella: heard from 2 days ago; a report due at 18:00 today, a meeting on Tuesday.
    await note("Umbrella", "Asked for a discount <script>alert(1)</script>", 2)
    await task("umbrella_report", "Umbrella", TODAY_REPORT, TaskKind.REPORT,
               NOW.replace(hour=15, minute=0))
    await task("umbrella_meeting", "Umbrella", "Meeting at their office", TaskKind.MEETING,
               NOW + 5 * days)
    # Olga's client, which Marina must not reach.
    await client("Ромашка", 30, owner=OLGA)
    await task("olga_call", "Ромашка", "Позвонить Ивану", TaskKind.CALL, NOW + 1 * days,
               owner=OLGA)
    return seeded


@asynccontextmanager
async def miniapp_server(
    storage: Storage, clock: FakeClock, dates: DateParser, settings: Settings | None = None
) -> AsyncIterator[tuple[str, Services]]:
    """The bot's web application with the Mini App mounted, on 127.0.0.1: (base URL,
    the services its writes go through)."""
    settings = settings or make_settings()
    i18n = create_i18n(settings.default_language)
    services = create_services(settings=settings, storage=storage, clock=clock, i18n=i18n)
    app = web.Application()
    add_webapp_routes(
        app, storage=storage, services=services, clock=clock, dates=dates, i18n=i18n,
        settings=settings,
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}", services
    finally:
        await runner.cleanup()


def chromium_missing() -> str | None:
    if Path(CHROMIUM).exists() or shutil.which("chromium"):
        return None
    return (
        f"{CHROMIUM} is missing: apt-get install --no-install-recommends chromium "
        "(.ci/run installs it)"
    )


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            await browser.close()


@dataclass
class Phone:
    """One browser context (a phone) and the page errors its page raised."""

    context: BrowserContext
    page: Page
    errors: list[str]
    blocked: list[str]


@asynccontextmanager
async def phone(browser: Browser, base: str, *, scale: float = 1) -> AsyncIterator[Phone]:
    """A fresh phone-sized context whose requests leave 127.0.0.1 nowhere: Telegram's
    script (and anything else off this server) is aborted and recorded."""
    context = await browser.new_context(
        viewport=PHONE, device_scale_factor=scale, is_mobile=True, has_touch=True
    )
    local = urlsplit(base).netloc
    blocked: list[str] = []

    async def only_local(route: Route) -> None:
        if urlsplit(route.request.url).netloc == local:
            await route.continue_()
        else:
            blocked.append(route.request.url)
            await route.abort()

    await context.route("**/*", only_local)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        yield Phone(context, page, errors, blocked)
    finally:
        await context.close()
