"""Shared fixtures: a real database per test, on SQLite and on PostgreSQL.

PostgreSQL: `TEST_PG_URL` when something started a server already, else a private cluster in a temp
dir on a free loopback port, started once per session (about a second) and stopped at the end. Each
test gets its own database cloned from a template that holds the migrated schema. Without the
binaries the PostgreSQL half is skipped on a developer machine and fails under CI (CI=true).
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import create_async_engine

from storage.database import Database

TEMPLATE_DB = "deskline_template"

# As `deskline` itself runs (SPEC S9): the desks the fixtures create are 0600, so no command
# warns that other accounts can read them.
os.umask(0o077)

# The suite never writes the real user's data or config directories (platformdirs follows
# XDG_*): the form key and SSH host key a `serve` makes, keymaps, downloads go to a directory
# of this test process, which its subprocesses (`deskline` run as a command) inherit.
_HOME_DIRS = tempfile.mkdtemp(prefix="deskline-test-home-")
for _name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
    os.environ[_name] = os.path.join(_HOME_DIRS, _name.lower())


def _pg_bindir() -> str | None:
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(d.split("/")[4]))
    return dirs[-1] if dirs else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _no_postgres(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"PostgreSQL is required under CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    if os.environ.get("TEST_PG_URL"):
        yield os.environ["TEST_PG_URL"].rstrip("/")
        return
    bindir = _pg_bindir()
    if bindir is None:
        _no_postgres("PostgreSQL binaries not installed (apt-get install postgresql)")
    as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    data = tempfile.mkdtemp(prefix="deskline-pg.", dir="/tmp")
    if as_pg:
        shutil.chown(data, "postgres", "postgres")
    port = _free_port()

    def run(*cmd: str) -> None:
        subprocess.run([*as_pg, *cmd], check=True, capture_output=True)

    try:
        run(
            f"{bindir}/initdb",
            "-D",
            data,
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
            "--no-instructions",
        )
        run(
            f"{bindir}/pg_ctl",
            "-D",
            data,
            "-l",
            f"{data}/server.log",
            "-w",
            "-t",
            "60",
            "-o",
            f"-c listen_addresses=127.0.0.1 -p {port} -k {data} -c max_connections=200 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            "start",
        )
    except subprocess.CalledProcessError as exc:
        shutil.rmtree(data, ignore_errors=True)
        _no_postgres(f"could not start PostgreSQL: {exc.stderr.decode(errors='replace')[-300:]}")
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(
            [*as_pg, f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"],
            capture_output=True,
        )
        shutil.rmtree(data, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_template(pg_server: str) -> str:
    async def build() -> None:
        admin = create_async_engine(f"{pg_server}/postgres", isolation_level="AUTOCOMMIT")
        async with admin.connect() as conn:
            await conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {TEMPLATE_DB}")
            await conn.exec_driver_sql(f"CREATE DATABASE {TEMPLATE_DB}")
        await admin.dispose()
        db = Database(f"{pg_server}/{TEMPLATE_DB}")
        await db.migrate()
        await db.close()

    # Requested from inside the async db_url fixture, where a loop already runs: build in a thread.
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, build()).result()
    return TEMPLATE_DB


@pytest_asyncio.fixture(params=["sqlite", "postgresql"])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A migrated, empty database (run `ensure_defaults` yourself or use `db`)."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/deskline.db"
        db = Database(url)
        await db.migrate()
        await db.close()
        yield url
        return
    if request.node.get_closest_marker("sqlite_only"):
        pytest.skip("SQLite only")
    server = request.getfixturevalue("pg_server")
    template = request.getfixturevalue("pg_template")
    name = "t_" + uuid.uuid4().hex[:12]
    admin = create_async_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield f"{server}/{name}"
    finally:
        async with admin.connect() as conn:
            await conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.dispose()


@pytest_asyncio.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    database = Database(db_url)
    yield database
    await database.close()


@pytest.fixture(scope="session", autouse=True)
def secrets_allowed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The host-local allow-list of secret references (SPEC S8) for the references the tests'
    mail servers take, in a private file (subprocesses inherit it through the environment)."""
    folder = tmp_path_factory.mktemp("allow")
    folder.chmod(0o700)
    path = folder / "secrets.allow"
    refs = (
        "DESKLINE_TEST_IMAP_PASSWORD",
        "SUPPORT_IMAP_PASSWORD",
        "DESK_IMAP_PASSWORD",
        "DESKLINE_NO_SUCH_SECRET",  # allowed, and missing from the environment
    )
    path.write_text("".join(f"127.0.0.1,localhost env:{ref}\n" for ref in refs))
    path.chmod(0o600)
    before = os.environ.get("DESKLINE_SECRETS_ALLOW")
    os.environ["DESKLINE_SECRETS_ALLOW"] = str(path)
    yield path
    if before is None:
        os.environ.pop("DESKLINE_SECRETS_ALLOW", None)
    else:
        os.environ["DESKLINE_SECRETS_ALLOW"] = before


# A real Dovecot IMAP server for the inbound tests (tests/servers/dovecot.py).
from tests.servers.dovecot import imap_folder, imap_server  # noqa: E402, F401
