"""The Mini App in headless Chromium (Debian's package, driven by Playwright) against the real
backend over a seeded SQLite database: what a user sees and what their taps change.

Slow suite (`python -m pytest -q -m slow tests/browser`): each test starts a browser.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiogram.utils.i18n import gettext as _
from playwright.async_api import Browser, Page, Response, Route, expect

from bot.domain.dates import DateParser
from bot.domain.money import format_money
from bot.i18n import create_i18n
from bot.services.catalog import Services
from bot.views.agenda import today_page
from storage.interfaces import Storage
from storage.models import InvoiceStatus, TaskStatus
from storage.sqlite import open_sqlite_storage
from tests.browser.harness import (
    BOARD_ORDER,
    FORMER,
    MARINA,
    OLGA,
    TODAY_REPORT,
    Phone,
    Portfolio,
    chromium,
    chromium_missing,
    launch_url,
    make_settings,
    miniapp_server,
    phone,
    seed,
    sign_init_data,
    telegram_user,
)
from tests.fakes.clock import NOW, FakeClock

pytestmark = pytest.mark.slow
# A loaded CI machine starts Chromium and answers slower than a desk: 15 s, not 5, for what
# the page shows after a request.
expect.set_options(timeout=15_000)

MOSCOW = ZoneInfo("Europe/Moscow")
MARINA_TG = telegram_user(MARINA, "Marina", "en")
OLGA_TG = telegram_user(OLGA, "Olga", "ru")


class App:
    """The server, the browser and the seeded rows of one test."""

    def __init__(
        self, base: str, storage: Storage, services: Services, seeded: Portfolio,
        clock: FakeClock, device: Phone, browser: Browser, dates: DateParser,
    ) -> None:
        self.base = base
        self.storage = storage
        self.services = services
        self.seeded = seeded
        self.clock = clock
        self.device = device
        self.browser = browser
        self.dates = dates
        # Telegram's script is asked for and, with no internet, refused (unless a test
        # serves a stand-in of it).
        self.telegram_script_refused = True

    @property
    def page(self) -> Page:
        return self.device.page

    def url(self, query: str = "", user: dict[str, Any] = MARINA_TG, **sign: Any) -> str:
        sign.setdefault("auth_date", self.clock.now() - timedelta(minutes=5))
        return launch_url(self.base, sign_init_data(user, **sign), query)

    async def open(self, query: str = "", user: dict[str, Any] = MARINA_TG,
                   **sign: Any) -> Response:
        """Open the page; the API's answer to its session request."""
        # From elsewhere: a new launch URL differing only in its fragment would not reload.
        await self.page.goto("about:blank")
        async with self.page.expect_response(
            lambda response: response.url.endswith("/app/api/session")
        ) as answer:
            await self.page.goto(self.url(query, user, **sign))
        return await answer.value


@pytest.fixture
async def app(tmp_path: Path, clock: FakeClock, dates: DateParser) -> AsyncIterator[App]:
    missing = chromium_missing()
    if missing:
        pytest.fail(missing, pytrace=False)
    storage = await open_sqlite_storage(tmp_path / "miniapp.sqlite3")
    try:
        async with miniapp_server(storage, clock, dates) as (base, services):
            seeded = await seed(storage, services)
            async with chromium() as browser, phone(browser, base) as device:
                test_app = App(base, storage, services, seeded, clock, device, browser, dates)
                yield test_app
                assert device.errors == [], "the page raised JavaScript errors"
                if test_app.telegram_script_refused:
                    # The page asked for Telegram's script and worked without it.
                    assert any("telegram.org" in url for url in device.blocked)
    finally:
        await storage.backend.close()


def translated(message: str, locale: str) -> str:
    i18n = create_i18n("en")
    with i18n.context(), i18n.use_locale(locale):
        return _(message)


async def card_names(page: Page, where: str) -> list[str]:
    return [name.strip() for name in await page.locator(f"{where} .card-title").all_inner_texts()]


async def test_board_orders_clients_by_what_needs_attention(app: App) -> None:
    answer = await app.open()
    assert answer.status == 200
    await expect(app.page.locator("#board-clients .client-card").first).to_be_visible()

    assert await card_names(app.page, "#board-clients") == BOARD_ORDER
    assert await card_names(app.page, "#board-former") == FORMER
    northwind = app.page.locator(".client-card", has_text="Northwind")
    await expect(northwind.locator(".badge.overdue-tasks")).to_have_text("Overdue tasks: 2")
    globex = app.page.locator(".client-card", has_text="Globex")
    await expect(globex.locator(".badge.unpaid")).to_have_text(
        "Unpaid: " + format_money(12_000_000, "RUB", "en")
    )
    await expect(globex.locator(".reasons")).to_contain_text("Overdue invoices: 1, up to 12 d")
    initech = app.page.locator(".client-card", has_text="Initech")
    await expect(initech.locator(".reasons")).to_contain_text("No contact for 45 d")
    # The tab bar sits at the bottom of the phone's screen, within a thumb's reach.
    bar = await app.page.locator("#tabs").bounding_box()
    assert bar is not None
    assert bar["y"] + bar["height"] == pytest.approx(844, abs=1)
    assert bar["height"] >= 44


async def test_done_tap_closes_the_task_in_the_database_and_the_chat_agenda(app: App) -> None:
    task_id = app.seeded.tasks["umbrella_report"]
    i18n = create_i18n("en")
    with i18n.context(), i18n.use_locale("en"):
        before = await today_page(app.storage.tasks, MARINA, MOSCOW, "en", NOW, 0)
    assert TODAY_REPORT in before.text

    await app.open("?view=agenda")
    row = app.page.locator(f'#agenda-today .task[data-task-id="{task_id}"]')
    await expect(row).to_contain_text(TODAY_REPORT)
    async with app.page.expect_response(
        lambda response: response.url.endswith(f"/api/tasks/{task_id}/done")
    ) as done:
        await row.locator("button.done").tap()
    assert (await done.value).status == 200

    task = await app.storage.tasks.get(MARINA, task_id)
    assert task is not None and task.status is TaskStatus.DONE
    with i18n.context(), i18n.use_locale("en"):
        after = await today_page(app.storage.tasks, MARINA, MOSCOW, "en", NOW, 0)
    assert TODAY_REPORT not in after.text
    # The page shows the change too: the row is gone, the agenda reloaded without it.
    await expect(app.page.locator("#toast")).to_have_text("Done.")
    await expect(app.page.locator("#agenda-today")).not_to_contain_text(TODAY_REPORT)


async def test_client_view_shows_the_card_and_its_actions_change_the_data(app: App) -> None:
    await app.open()
    await app.page.locator(".client-card", has_text="Acme").tap()
    acme = app.page.locator(".client")
    await expect(app.page.locator("#title")).to_have_text("Acme")
    # User content is text, never markup: the task's "<b>" is shown as typed.
    await expect(acme.locator("#client-tasks")).to_contain_text(
        "Call Anna about the <b>new</b> brief"
    )
    await expect(acme.locator("#client-notes")).to_contain_text("Agreed on the December plan")

    # Paid takes two taps; then the invoice is paid and off the list.
    invoice_id = app.seeded.invoices["acme_rub"]
    paid = acme.locator(f'.invoice[data-invoice-id="{invoice_id}"] button.paid')
    await paid.tap()
    invoice = await app.storage.invoices.get(MARINA, invoice_id)
    assert invoice is not None and invoice.status is InvoiceStatus.UNPAID
    async with app.page.expect_response(lambda r: r.url.endswith("/paid")) as answer:
        await paid.tap()
    assert (await answer.value).status == 200
    invoice = await app.storage.invoices.get(MARINA, invoice_id)
    assert invoice is not None and invoice.status is InvoiceStatus.PAID
    await expect(acme.locator(f'.invoice[data-invoice-id="{invoice_id}"]')).to_have_count(0)

    # A note typed here is stored for the client and shown as text.
    await app.page.locator("#note-text").fill("Called: <i>all good</i>")
    async with app.page.expect_response(lambda r: r.url.endswith("/notes")) as answer:
        await app.page.locator("#note-form button[type=submit]").tap()
    assert (await answer.value).status == 200
    notes = await app.storage.notes.latest(MARINA, app.seeded.clients["Acme"], offset=0, limit=1)
    assert [note.text for note in notes] == ["Called: <i>all good</i>"]
    await expect(acme.locator(".note-text").first).to_have_text("Called: <i>all good</i>")

    # Reschedule with a preset moves the overdue call to tomorrow morning.
    call_id = app.seeded.tasks["acme_call"]
    row = acme.locator(f'.task[data-task-id="{call_id}"]')
    await row.locator("button.reschedule").tap()
    async with app.page.expect_response(lambda r: r.url.endswith("/reschedule")) as answer:
        await row.locator('[data-preset="tomorrow"]').tap()
    assert (await answer.value).status == 200
    task = await app.storage.tasks.get(MARINA, call_id)
    assert task is not None and task.due_at is not None
    assert task.due_at.astimezone(MOSCOW).date() == NOW.astimezone(MOSCOW).date() + timedelta(1)

    await app.page.locator("#back").tap()
    await expect(app.page.locator("#board-clients")).to_be_visible()


async def test_charts_show_the_seeded_figures(app: App) -> None:
    await app.open("?view=charts")
    ageing = app.page.locator("#chart-ageing")
    await expect(ageing.locator(".currency")).to_have_count(2)
    assert await ageing.locator(".currency").evaluate_all(
        "nodes => nodes.map(n => n.dataset.currency)"
    ) == ["RUB", "USD"]
    rub = ageing.locator('[data-currency="RUB"]')
    await expect(rub.locator('[data-key="not_due"] .bar-figure')).to_contain_text(
        format_money(5_000_000, "RUB", "en")
    )
    await expect(rub.locator('[data-key="8_30"] .bar-figure')).to_contain_text(
        format_money(12_000_000, "RUB", "en")
    )
    await expect(rub.locator('[data-key="1_7"] .bar-figure')).to_have_text("—")
    usd = ageing.locator('[data-currency="USD"]')
    await expect(usd.locator('[data-key="30_plus"] .bar-figure')).to_contain_text(
        format_money(150_000, "USD", "en")
    )

    # Workload: today a call and a report, Tuesday a meeting, in 10 days an invoice to chase.
    table = app.page.locator("#workload-table")
    rows = {
        await row.get_attribute("data-date"): (
            await row.locator(".breakdown").inner_text(),
            await row.locator(".total").inner_text(),
        )
        for row in await table.locator("tbody tr").all()
    }
    assert rows == {
        "2026-11-26": ("call 1, report 1", "2"),
        "2026-12-01": ("meeting 1", "1"),
        "2026-12-06": ("invoice 1", "1"),
    }
    # The SVG columns carry the same totals.
    totals = await app.page.locator("#chart-workload svg .column-total").all_text_contents()
    assert totals == ["2", "1", "1"]

    freshness = {
        await row.get_attribute("data-key"): await row.locator(".bar-figure").inner_text()
        for row in await app.page.locator("#chart-freshness .bar-row").all()
    }
    assert freshness == {"0_7": "2", "8_30": "2", "31_90": "1", "90_plus": "1"}


async def test_forged_or_stale_launch_data_shows_the_open_from_telegram_message(
    app: App,
) -> None:
    for sign in (
        {"token": "4242:SOMEBODY-ELSES-TOKEN"},
        {"auth_date": NOW - timedelta(seconds=make_settings().webapp_auth_max_age_seconds + 60)},
    ):
        answer = await app.open(**sign)
        assert answer.status == 401
        error = (await answer.json())["error"]
        message = app.page.locator(".fatal .fatal-message")
        await expect(message).to_have_text(error)
        assert "Telegram" in error or "chat" in error
        await expect(app.page.locator("#tabs")).to_be_hidden()
        await expect(app.page.locator(".client-card")).to_have_count(0)
    # No launch data at all (the page opened outside Telegram): the same, bilingual.
    await app.page.goto("about:blank")
    await app.page.goto(app.base + "/app/")
    await expect(app.page.locator(".fatal")).to_be_visible()


async def test_a_user_off_the_allowlist_is_refused_with_403(app: App) -> None:
    app.telegram_script_refused = False  # this test's page is on a server of its own
    settings = make_settings(allowed_user_ids=frozenset({MARINA}))
    async with (
        miniapp_server(app.storage, app.clock, app.dates, settings) as (base, _services),
        phone(app.browser, base) as device,
    ):
        init_data = sign_init_data(OLGA_TG, auth_date=NOW - timedelta(minutes=1))
        async with device.page.expect_response(
            lambda response: response.url.endswith("/app/api/session")
        ) as answer:
            await device.page.goto(launch_url(base, init_data))
        assert (await answer.value).status == 403
        error = (await (await answer.value).json())["error"]
        # In her language: the launch's language code says Russian.
        assert re.search("[а-яё]", error, re.IGNORECASE)
        await expect(device.page.locator(".fatal .fatal-message")).to_have_text(error)
        await expect(device.page.locator(".client-card")).to_have_count(0)
        assert device.errors == []
        assert any("telegram.org" in url for url in device.blocked)


async def test_another_users_client_answers_404_and_shows_nothing_of_it(app: App) -> None:
    theirs = app.seeded.clients["Ромашка"]
    async with app.page.expect_response(
        lambda response: response.url.endswith(f"/api/clients/{theirs}")
    ) as answer:
        await app.open(f"?view=client&id={theirs}")
    assert (await answer.value).status == 404
    await expect(app.page.locator(".fatal")).to_be_visible()
    assert "Ромашка" not in await app.page.locator("body").inner_text()
    # Back leads to Marina's own board.
    await app.page.locator(".fatal button").tap()
    await expect(app.page.locator("#board-clients .client-card")).to_have_count(len(BOARD_ORDER))


async def test_russian_and_english_users_each_see_their_language(app: App) -> None:
    tabs = ("Board", "Agenda", "Charts")
    for user, locale, client in ((OLGA_TG, "ru", "Ромашка"), (MARINA_TG, "en", "Northwind")):
        answer = await app.open(user=user)
        assert answer.status == 200
        await expect(app.page.locator(".client-card").first).to_contain_text(client)
        assert await app.page.locator("html").get_attribute("lang") == locale
        labels = await app.page.locator("#tabs .tab-label").all_inner_texts()
        assert labels == [translated(tab, locale) for tab in tabs]
        cyrillic = re.search("[а-яё]", " ".join(labels), re.IGNORECASE) is not None
        assert cyrillic is (locale == "ru")


# A stand-in for telegram-web-app.js as a Telegram client provides it: launch data, a dark
# theme, and the calls the page makes recorded.
TELEGRAM_STUB = """
window.calls = [];
window.Telegram = {WebApp: {
  initData: %s,
  colorScheme: "dark",
  themeParams: {bg_color: "#17212b", text_color: "#f5f5f5", hint_color: "#708499",
                link_color: "#6ab3f3", button_color: "#5288c1", button_text_color: "#ffffff",
                secondary_bg_color: "#232e3c"},
  ready() { calls.push("ready"); },
  expand() { calls.push("expand"); },
  onEvent(name) { calls.push("onEvent:" + name); },
  BackButton: {
    show() { calls.push("back:show"); }, hide() { calls.push("back:hide"); },
    onClick(handler) { window.telegramBack = handler; },
  },
}};
"""


async def test_inside_telegram_the_page_takes_launch_data_theme_and_back_button_from_it(
    app: App,
) -> None:
    init_data = sign_init_data(MARINA_TG, auth_date=NOW - timedelta(minutes=1))
    app.telegram_script_refused = False

    async def telegram_script(route: Route) -> None:
        await route.fulfill(
            body=TELEGRAM_STUB % json.dumps(init_data), content_type="text/javascript"
        )

    await app.page.route("https://telegram.org/**", telegram_script)
    # No launch data in the URL: it comes from Telegram.WebApp.initData alone.
    await app.page.goto(app.base + "/app/")
    await expect(app.page.locator("#board-clients .client-card")).to_have_count(len(BOARD_ORDER))
    calls = await app.page.evaluate("window.calls")
    assert "ready" in calls and "expand" in calls
    # Telegram's dark theme: the page's background is its secondary_bg_color.
    background = await app.page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background == "rgb(35, 46, 60)"
    # A client's view shows Telegram's back button, and it leads back to the board.
    await app.page.locator(".client-card", has_text="Globex").tap()
    await expect(app.page.locator("#title")).to_have_text("Globex")
    assert (await app.page.evaluate("window.calls")).count("back:show") == 1
    await expect(app.page.locator("#back")).to_be_hidden()  # Telegram's, not a second one
    await app.page.evaluate("window.telegramBack()")
    await expect(app.page.locator("#board-clients")).to_be_visible()
    assert (await app.page.evaluate("window.calls"))[-1] == "back:hide"


async def test_a_client_covered_for_a_teammate_shows_apart_and_opens_read_only(
    app: App,
) -> None:
    # Olga hands Ромашка over to Marina (her teammate) for two days.
    storage, now = app.storage, app.clock.now()
    await storage.users.set_identity(OLGA, "olga", "Olga P")
    team = await storage.teams.create(OLGA, "Agency", "s" * 32, now)
    await storage.teams.create_invite("invite-m", team.id, OLGA, now + timedelta(hours=1))
    assert await storage.teams.join_by_invite("invite-m", MARINA, now) is not None
    theirs = app.seeded.clients["Ромашка"]
    await storage.teams.create_handover(
        OLGA, theirs, MARINA, now - timedelta(hours=1), now + timedelta(days=2), now
    )
    await app.open()
    covering = app.page.locator("#board-covering")
    await expect(covering).to_be_visible()
    assert await card_names(app.page, "#board-covering") == ["Ромашка"]
    await expect(covering.locator(".owner")).to_have_text("Olga P's client")
    # Marina's own board is unchanged.
    assert await card_names(app.page, "#board-clients") == BOARD_ORDER
    await covering.locator(".client-card").tap()
    task_row = app.page.locator("#client-tasks .task")
    await expect(task_row).to_have_count(1)
    # Only ✅ done, as on the reminder a covering teammate gets: no reschedule, no note form.
    await expect(task_row.locator("button.done")).to_be_visible()
    await expect(task_row.locator("button.reschedule")).to_have_count(0)
    await expect(app.page.locator("#note-form")).to_have_count(0)
    await task_row.locator("button.done").tap()
    await expect(app.page.locator("#client-tasks .task")).to_have_count(0)
    done = await storage.tasks.get(OLGA, app.seeded.tasks["olga_call"])
    assert done is not None and done.status is TaskStatus.DONE


async def test_a_note_being_typed_survives_the_view_being_drawn_again(app: App) -> None:
    acme = app.seeded.clients["Acme"]
    await app.open(f"?view=client&id={acme}")
    await app.page.locator("#note-text").fill("Half-typed: they want")
    # ✅ on a task draws the client's view again from the server.
    call_row = app.page.locator(f'.task[data-task-id="{app.seeded.tasks["acme_call"]}"]')
    async with app.page.expect_response(
        lambda response: response.url.endswith(f"/api/clients/{acme}")
    ) as redrawn:
        await call_row.locator("button.done").tap()
    assert (await redrawn.value).status == 200
    await expect(call_row).to_have_count(0)
    await expect(app.page.locator("#note-text")).to_have_value("Half-typed: they want")
