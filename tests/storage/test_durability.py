"""What the storage acknowledged survives a kill -9 the next moment."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from datetime import datetime, timezone
    from pathlib import Path
    from storage.models import TaskKind
    from storage.sqlite import open_sqlite_storage

    async def main() -> None:
        storage = await open_sqlite_storage(Path(sys.argv[1]))
        now = datetime.now(timezone.utc)
        await storage.users.ensure(1, now)
        client = await storage.clients.create(1, "Acme", now)
        for index in range(100000):
            task = await storage.tasks.create(
                1, client_id=client.id, text=f"task {index}", kind=TaskKind.CALL,
                due_at=now, now=now,
            )
            # Only now, after the commit, may the write be acknowledged.
            print(task.number, flush=True)

    asyncio.run(main())
    """
)


def test_acknowledged_writes_survive_kill_9(tmp_path: Path) -> None:
    database = tmp_path / "db.sqlite3"
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    for round_number in range(3):
        process = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(database)],
            stdout=subprocess.PIPE, text=True, env=env,
        )
        assert process.stdout is not None
        acknowledged: list[int] = []
        target = 20 + 15 * round_number
        while len(acknowledged) < target:
            line = process.stdout.readline()
            assert line, "writer died before acknowledging enough writes"
            acknowledged.append(int(line))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        process.stdout.close()
        with sqlite3.connect(database) as raw:
            assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            stored = {row[0] for row in raw.execute("SELECT number FROM tasks")}
        assert set(acknowledged) <= stored
        # Each round reopens the same file: a second "Acme" is a duplicate, so start fresh.
        database.unlink()
        for suffix in ("-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)
