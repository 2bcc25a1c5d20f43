"""Serving the web side: uvicorn (a maintained HTTP/1.1 and WebSocket server, never a parser of
our own) runs the application of runtime.web.app on a socket bound beforehand, so a bad address
is said at once by `deskline serve` and the serving process (a child of `serve`, SPEC S5) gets a
socket that is already listening."""

from __future__ import annotations

import asyncio
import logging
import socket

import uvicorn

from runtime.desk import Desk
from runtime.web.app import create_app
from runtime.web.context import WebConfig
from runtime.web.form_tokens import KeyFileError

DEFAULT_HTTP = "127.0.0.1:8080"
log = logging.getLogger("deskline.web")


def parse_address(text: str) -> tuple[str, int]:
    """ADDRESS:PORT (an IPv6 address in brackets) to a numeric host and a port."""
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"--http takes ADDRESS:PORT (e.g. {DEFAULT_HTTP}), not {text!r}")
    host = host.strip("[]")
    return str(socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)[0][4][0]), int(port)


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on host:port (port 0: a free one; see `sock.getsockname()`)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


async def serve(
    url: str,
    sock: socket.socket,
    *,
    config: WebConfig | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve the desk at `url` on `sock` until `stop` is set (or, in a process's main thread,
    until SIGINT or SIGTERM). The desk is opened here, in the serving process."""
    desk = await Desk.open(url)
    try:
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(desk, config),
                log_level="warning",
                lifespan="off",
                server_header=False,
                proxy_headers=False,  # the client address is the peer's (WebConfig)
                ws_max_size=64 * 1024,
            )
        )
        if stop is not None:

            async def watch() -> None:
                await stop.wait()
                server.should_exit = True

            watcher = asyncio.create_task(watch())
        await server.serve(sockets=[sock])
        if stop is not None:
            watcher.cancel()
    finally:
        await desk.close()


def run_in_child(url: str, sock: socket.socket, config: WebConfig | None = None) -> int:
    """The body of `serve --http`'s serving process."""
    logging.basicConfig(level=logging.WARNING, format="deskline serve (web): %(message)s")
    try:
        asyncio.run(serve(url, sock, config=config))
    except KeyFileError as exc:  # the form tokens' key (runtime.web.form_tokens): one line
        log.error("%s", exc)
        return 1
    return 0
