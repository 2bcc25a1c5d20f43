"""The web side under test: the real server (uvicorn running runtime.web's application, as
`deskline serve --http` runs it) on a free loopback port, and a real headless Chromium driven by
Selenium (Debian's `chromium` and `chromium-driver`, installed by tests/run).

- `web_server(db_url, ...)` (the `web` fixture's factory) starts the server in a thread with its
  own event loop and its own desk on the same database, so a test's blocking browser calls never
  stall it. The server's clock is a `MovableClock`: a test moves it past the form's minimum fill
  time (C5) instead of sleeping.
- `browser`: a headless Chromium (one per worker process, its cookies cleared for each test);
  `browser_without_js` the same with JavaScript switched off.
  Without Chromium the browser tests are skipped locally; under CI they fail instead.

Use from a test module: `from tests.web_helpers import browser, web` and name them in `__all__`
(they are fixtures).
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from runtime.web.context import WebConfig
from runtime.web.server import base_url, bind, serve

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


class MovableClock:
    """The real time plus an offset a test moves forward."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    text: str


@dataclass
class WebServer:
    url: str  # http://127.0.0.1:PORT
    config: WebConfig
    clock: MovableClock
    _stop: Callable[[], None] = field(repr=False, default=lambda: None)

    def get(self, path: str, headers: dict[str, str] | None = None) -> Answer:
        return self.request("GET", path, headers=headers)

    def post_form(
        self, path: str, fields: dict[str, str], headers: dict[str, str] | None = None
    ) -> Answer:
        """A plain urlencoded post, as a browser without JavaScript sends a form."""
        body = urllib.parse.urlencode(fields).encode()
        return self.request(
            "POST",
            path,
            body,
            {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})},
        )

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        req = urllib.request.Request(
            self.url + path, data=body, method=method, headers=headers or {}
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return Answer(resp.status, dict(resp.headers.items()), resp.read().decode())
        except urllib.error.HTTPError as exc:
            return Answer(exc.code, dict(exc.headers.items()), exc.read().decode())

    def stop(self) -> None:
        self._stop()


def start_web_server(db_url: str, config: WebConfig | None = None) -> WebServer:
    """The web side of the desk at `db_url` on a free loopback port, serving until `stop()`."""
    clock = MovableClock()
    config = config or WebConfig()
    config.clock = clock
    if config.key_file is None:  # host-local, as the data directory's; shared by this process
        config.key_file = _key_dir() / "web_form_key"
    sock = bind("127.0.0.1", 0)
    url = base_url(sock)
    started = threading.Event()
    handles: dict[str, Any] = {}
    failure: list[BaseException] = []

    async def main() -> None:
        handles["loop"] = asyncio.get_running_loop()
        handles["stop"] = asyncio.Event()
        started.set()
        await serve(db_url, sock, config=config, stop=handles["stop"])

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # said by the first request that fails
            failure.append(exc)
            started.set()
        finally:
            sock.close()

    thread = threading.Thread(target=run, name="deskline-web", daemon=True)
    thread.start()
    started.wait(30)

    def stop() -> None:
        loop = handles.get("loop")
        if loop is not None and thread.is_alive():
            loop.call_soon_threadsafe(handles["stop"].set)
        thread.join(30)

    server = WebServer(url, config, clock, stop)
    _wait_until_serving(server, failure)
    return server


_KEY_DIR: list[Path] = []


def _key_dir() -> Path:
    if not _KEY_DIR:
        _KEY_DIR.append(Path(tempfile.mkdtemp(prefix="deskline-web-key-")))
    return _KEY_DIR[0]


def _wait_until_serving(server: WebServer, failure: list[BaseException]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if failure:
            raise RuntimeError(f"the web server did not start: {failure[0]!r}")
        try:
            if server.get("/static/deskline.css").status == 200:
                return
        except (TimeoutError, urllib.error.URLError, ConnectionError):
            time.sleep(0.05)
    raise RuntimeError("the web server did not answer within 30 s")


@pytest.fixture
def web() -> Iterator[Callable[..., WebServer]]:
    """A factory: `web(db_url, config=None)` starts a server for the test; all stop after it."""
    started: list[WebServer] = []

    def start(db_url: str, config: WebConfig | None = None) -> WebServer:
        server = start_web_server(db_url, config)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def chromium_missing() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (os.path.exists(path) or shutil.which(os.path.basename(path))):
            return f"{path} is not installed (tests/run installs chromium and chromium-driver)"
    return None


_DRIVERS: dict[bool, Any] = {}  # one Chromium per test process and JavaScript switch


def chromium_driver(*, javascript: bool = True) -> Any:
    """The process's headless Chromium (started at the first use; quit when the process ends);
    `javascript=False`: one with JavaScript switched off, as some visitors browse."""
    if javascript in _DRIVERS:
        return _DRIVERS[javascript]
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = (
        CHROMIUM if os.path.exists(CHROMIUM) else str(shutil.which("chromium"))
    )
    for arg in (
        "--headless=new",
        "--no-sandbox",  # the suite may run as root (containers, CI)
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1024,900",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
    ):
        options.add_argument(arg)
    if not javascript:
        options.add_experimental_option(
            "prefs", {"profile.managed_default_content_settings.javascript": 2}
        )
    path = CHROMEDRIVER if os.path.exists(CHROMEDRIVER) else shutil.which("chromedriver")
    driver = webdriver.Chrome(options=options, service=Service(executable_path=path))
    driver.set_page_load_timeout(30)
    _DRIVERS[javascript] = driver
    atexit.register(driver.quit)
    return driver


@pytest.fixture
def browser() -> Iterator[Any]:
    """A headless Chromium (a selenium WebDriver) with no cookies from an earlier test. Without
    Chromium: skipped, or failed under CI (where tests/run installs it)."""
    yield from _fresh(javascript=True)


@pytest.fixture
def browser_without_js() -> Iterator[Any]:
    """The same with JavaScript switched off."""
    yield from _fresh(javascript=False)


def _fresh(*, javascript: bool) -> Iterator[Any]:
    missing = chromium_missing()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(missing)
        pytest.skip(missing)
    driver = chromium_driver(javascript=javascript)
    driver.delete_all_cookies()
    yield driver
    try:
        driver.get("about:blank")
        driver.delete_all_cookies()
    except Exception:  # a test that broke the page: the next test starts from a new page anyway
        pass
