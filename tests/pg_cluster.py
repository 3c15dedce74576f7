"""A throwaway PostgreSQL cluster for the tests (the `postgresql` Debian package).

`python -m tests.pg_cluster start DIR` starts one in DIR and prints its DSN;
`python -m tests.pg_cluster stop DIR` stops it. tests/conftest.py starts one the same way
when TEST_DATABASE_URL is not set, so README's `pytest` needs nothing else. As root (CI),
the cluster runs as the `postgres` user, since PostgreSQL refuses to run as root.

Made for speed, not durability: no fsync, trust authentication on 127.0.0.1 only.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


class ClusterError(RuntimeError):
    """PostgreSQL could not be started: the message says why and what to install."""


def _binary(name: str) -> str:
    for directory in _BIN_DIRS:
        candidate = directory / name
        if candidate.is_file():
            return str(candidate)
    found = shutil.which(name)
    if found:
        return found
    raise ClusterError(
        f"PostgreSQL's {name} was not found (looked in /usr/lib/postgresql/*/bin and PATH):"
        " install the `postgresql` package, or set TEST_DATABASE_URL to a server of yours"
    )


def _as_cluster_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(directory: Path) -> str:
    """Initialise and start a cluster in `directory` (created); returns its DSN."""
    directory.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres")
    data = directory / "data"
    port = _free_port()
    steps = [
        [
            _binary("initdb"), "-D", str(data), "--locale=C.UTF-8", "-E", "UTF8",
            "--no-sync", "-A", "trust", "-U", "postgres",
        ],
        [
            _binary("pg_ctl"), "-D", str(data), "-l", str(directory / "log"), "-w", "-o",
            f"-F -k {directory} -c listen_addresses=127.0.0.1 -p {port} -c fsync=off"
            " -c synchronous_commit=off -c full_page_writes=off -c max_connections=300",
            "start",
        ],
    ]
    for step in steps:
        result = subprocess.run(
            _as_cluster_user(step), capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            log = directory / "log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise ClusterError(
                f"{Path(step[0]).name} failed ({result.returncode}): "
                f"{result.stderr.strip() or result.stdout.strip()} {tail}".strip()
            )
    return f"postgresql://postgres@127.0.0.1:{port}/postgres"


def stop(directory: Path) -> None:
    subprocess.run(
        _as_cluster_user(
            [_binary("pg_ctl"), "-D", str(directory / "data"), "-m", "immediate", "stop"]
        ),
        capture_output=True,
        check=False,
    )


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in {"start", "stop"}:
        sys.stderr.write("usage: python -m tests.pg_cluster start|stop DIR\n")
        return 2
    directory = Path(argv[1]).resolve()
    if argv[0] == "stop":
        stop(directory)
        return 0
    try:
        sys.stdout.write(start(directory) + "\n")
    except ClusterError as exc:
        sys.stderr.write(f"cannot start PostgreSQL: {exc}\n")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
