"""Screenshots of the Mini App for README: `python -m docs.screenshots` (from the repo root).

The same seeded portfolio, server and Chromium as tests/browser: a phone-sized page (390x844
CSS pixels at 2x), Telegram's light theme, no internet. Writes docs/miniapp-*.png: the board
and the charts in English and in Russian, and a client's view in English.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

from bot.domain.dates import DateParser
from storage.sqlite import open_sqlite_storage
from tests.browser.harness import (
    MARINA,
    PHONE,
    chromium,
    launch_url,
    miniapp_server,
    phone,
    seed,
    sign_init_data,
    telegram_user,
)
from tests.fakes.clock import NOW, FakeClock

DOCS = Path(__file__).resolve().parent


async def main() -> None:
    clock = FakeClock(NOW)
    dates = DateParser()
    dates.warm()
    with tempfile.TemporaryDirectory() as directory:
        storage = await open_sqlite_storage(Path(directory) / "shots.sqlite3")
        try:
            async with miniapp_server(storage, clock, dates) as (base, services):
                seeded = await seed(storage, services)
                async with chromium() as browser:
                    for locale in ("en", "ru"):
                        await storage.users.set_language(MARINA, locale)
                        user = telegram_user(MARINA, "Marina", locale)
                        init_data = sign_init_data(user, auth_date=NOW - timedelta(minutes=1))
                        suffix = "" if locale == "en" else "-ru"
                        shots = [("", "board", ".client-card"), ("?view=charts", "charts",
                                                                 "#chart-workload")]
                        if locale == "en":
                            acme = seeded.clients["Acme"]
                            shots.append((f"?view=client&id={acme}", "client", ".client"))
                            shots.append(("?view=agenda", "agenda", ".group"))
                        for query, name, ready in shots:
                            async with phone(browser, base, scale=2) as device:
                                await device.page.goto(launch_url(base, init_data, query))
                                await device.page.locator(ready).first.wait_for()
                                path = DOCS / f"miniapp-{name}{suffix}.png"
                                # The whole page as one tall phone screen, so the fixed tab
                                # bar is at its bottom, not across the middle.
                                height = await device.page.evaluate(
                                    "document.documentElement.scrollHeight"
                                )
                                await device.page.set_viewport_size(
                                    {"width": PHONE["width"], "height": max(PHONE["height"],
                                                                            height)}
                                )
                                await device.page.screenshot(path=str(path))
                                sys.stdout.write(f"{path.relative_to(DOCS.parent)}\n")
        finally:
            await storage.backend.close()


if __name__ == "__main__":
    asyncio.run(main())
