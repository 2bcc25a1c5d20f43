"""The chat channel on the web (SPEC C3-C7): the widget's API, its live connection and the
standalone chat page.

    GET  /chat/NAME                the standalone chat page (the widget, full page)
    GET  /chat/NAME/api/state      online?, the visitor's chat so far
    POST /chat/NAME/api/start      a new visitor: name, email (unverified); sets the cookie
    POST /chat/NAME/api/messages   the visitor writes
    POST /chat/NAME/api/typing     the visitor types (not stored on the timeline, C7)
    POST /chat/NAME/api/transcript the chat by email (C4)
    POST /chat/NAME/api/offline    nobody online: a message that becomes a ticket (C6)
    GET  /chat/NAME/api/poll       the long-poll fallback: what came after message row N
    WS   /chat/NAME/ws             the live connection: both ways, JSON frames

A visitor is its cookie (C3: an unguessable token, HttpOnly, SameSite=Lax, Secure under TLS);
the database keeps only the token's hash. Requests from another origin are answered only for the
origins on the channel's allow-list (C5, CORS with credentials); a WebSocket from elsewhere is
refused. Over a limit (C5) the answer is 429 with Retry-After (on the WebSocket an error frame)
and nothing is stored.

What visitors write is stored by one `ChatWriter` (runtime.web.chat_writer): a group commit
of everything pending, one transaction per batch, each visitor answered when its batch commits.

`ChatHub` pushes what reps write: every connection (WebSocket or long poll) subscribes to its
chat, and ONE loop for all of them reads, every `POLL_SECONDS` (B8.4: a rep's reply from another
process shows within half a second) and at once when this process stored something, the rows
after the newest it has read (`cursor`) of all subscribed chats, their end and the reps'
typing, and fans them out; only a connection that subscribes behind the cursor (a returning
visitor) gets a read of its own chat, in the same look.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from automation import chat, chat_visitors, web_channel_settings
from automation.chat import ChatError
from runtime.web.chat_writer import ChatWriter
from runtime.web.context import Web
from runtime.web.limits import OverLimit, RateLimiter
from storage.database import DatabaseError
from storage.repository import chat as chat_store

log = logging.getLogger("deskline.web.chat")
POLL_SECONDS = 0.2  # the hub's look at the database (B8.4: within 0.5 s)
LATE_COMMIT_SECONDS = 3.0  # PostgreSQL: a row committed up to this long after its id was taken
LONG_POLL_SECONDS = 20.0
TYPING_WRITE_SECONDS = 3.0  # a visitor's typing is written at most this often
COOKIE_DAYS = 30


# --- the hub: new messages to the connections that wait for them -----------------------------


@dataclass(eq=False)
class Subscriber:
    conversation_id: int
    after: int  # the newest message row this connection had when it subscribed
    queue: asyncio.Queue[dict[str, Any]] = field(default_factory=asyncio.Queue)
    seen: set[int] = field(default_factory=set)  # rows sent to it above the hub's floor
    ended: bool = False
    typing: bool = False


class ChatHub:
    def __init__(self, web: Web) -> None:
        self.web = web
        self.subscribers: dict[int, set[Subscriber]] = {}
        self.cursor: int | None = None  # every subscriber has the rows up to here
        self.behind: set[Subscriber] = set()  # subscribed before the cursor: read on their own
        # PostgreSQL hands out row ids before commit: a row may become visible after a higher
        # one. Each look re-reads from the cursor as it was LATE_COMMIT_SECONDS ago (the floor),
        # and every connection skips the rows it was sent. SQLite commits in id order.
        self.lag = 0.0 if web.desk.db.is_sqlite else LATE_COMMIT_SECONDS
        self._marks: collections.deque[tuple[float, int]] = collections.deque()
        self.polls = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def subscribe(self, conversation_id: int, after: int) -> Subscriber:
        sub = Subscriber(conversation_id, after)
        self.subscribers.setdefault(conversation_id, set()).add(sub)
        if self.cursor is None or after < self.cursor:
            self.behind.add(sub)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="chat-hub")
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self.behind.discard(sub)
        subs = self.subscribers.get(sub.conversation_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self.subscribers[sub.conversation_id]

    def wake(self) -> None:
        """Something was stored in this process: look now, not at the next poll."""
        self._wake.set()

    async def _run(self) -> None:
        while self.subscribers:
            self._wake.clear()
            try:
                await self.poll()
            except Exception:
                log.exception("reading new chat messages failed; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)

    async def poll(self) -> None:
        """One read for every connection, then each gets what is new for it."""
        ids = list(self.subscribers)
        if not ids:
            return
        self.polls += 1
        cursor = self.cursor
        floor = self._floor(time.monotonic())
        behind = list(self.behind)
        self.behind.clear()
        now = self.web.desk.db.now()

        def read(session: Any) -> tuple[int, list[chat_store.ChatLine], dict[Any, Any], Any]:
            top = chat_store.newest_message_row(session) if cursor is None else cursor
            lines = chat_store.new_messages(session, ids, floor) if floor is not None else []
            own = {sub: chat_store.feed(session, sub.conversation_id, sub.after) for sub in behind}
            return top, lines, own, chat_store.chat_states(session, ids, now)

        try:
            top, lines, own, states = await self.web.desk.query(read)
        except BaseException:
            self.behind.update(b for b in behind if b.conversation_id in self.subscribers)
            raise
        self.cursor = max([top, *(line.id for line in lines)])
        if self.lag:
            self._marks.append((time.monotonic(), self.cursor))
        floor = self._floor(time.monotonic())
        by_chat: dict[int, list[chat_store.ChatLine]] = {}
        for line in lines:
            by_chat.setdefault(line.conversation_id, []).append(line)
        for conversation_id, subs in list(self.subscribers.items()):
            state = states.get(conversation_id)
            for sub in list(subs):
                mine = own[sub] if sub in own else by_chat.get(conversation_id, [])
                fresh = [x for x in mine if x.id > sub.after and x.id not in sub.seen]
                if fresh:
                    sub.seen.update(x.id for x in fresh)
                    sub.queue.put_nowait(
                        {"type": "messages", "messages": [_json(x) for x in fresh]}
                    )
                if floor is not None and sub.seen:  # below the floor no row is read again
                    sub.seen = {n for n in sub.seen if n > floor}
                if state is not None and (state.ended, state.rep_typing) != (sub.ended, sub.typing):
                    sub.ended, sub.typing = state.ended, state.rep_typing
                    sub.queue.put_nowait(
                        {"type": "state", "ended": state.ended, "typing": state.rep_typing}
                    )

    def _floor(self, now: float) -> int | None:
        """Where a look starts reading: the cursor, or on PostgreSQL the cursor as it was
        `lag` seconds ago (None before the first look)."""
        if self.cursor is None or not self.lag:
            return self.cursor
        while len(self._marks) > 1 and self._marks[1][0] <= now - self.lag:
            self._marks.popleft()
        return self._marks[0][1] if self._marks else self.cursor


def _json(line: chat_store.ChatLine) -> dict[str, Any]:
    return {
        "id": line.id,
        "mine": line.mine,
        "author": line.author,
        "text": line.text.rstrip("\n"),
        "at": line.at.isoformat(),
    }


# --- the channel, the visitor, the origin -------------------------------------------------------


@dataclass(frozen=True)
class Channel:
    id: int
    name: str
    origins: tuple[str, ...]


@dataclass(frozen=True)
class Visitor:
    id: int
    conversation_id: int | None  # its open chat
    email_known: bool = False


def cookie_name(channel: Channel) -> str:
    return f"{chat.COOKIE}_{channel.id}"


class Refused(Exception):
    def __init__(self, status: int, text: str, retry_after: str | None = None) -> None:
        super().__init__(text)
        self.status = status
        self.text = text
        self.retry_after = retry_after


class ChatRoutes:
    def __init__(self, web: Web) -> None:
        self.web = web
        self.hub = ChatHub(web)
        self.writer = ChatWriter(web.desk, on_stored=self._stored)
        self._typing_written: dict[int, float] = {}
        self._unsettled = False
        self._settler: asyncio.Task[None] | None = None

    # --- lookups --------------------------------------------------------------------------

    async def channel(self, name: str) -> Channel:
        def load(repo: Any) -> Channel | None:
            found = repo.channel_by_name(name)
            if found is None or found.kind != "chat":
                return None
            settings = repo.chat_settings(found.id)
            origins = tuple(settings.origins) if settings is not None else ()
            return Channel(found.id, found.name, origins)

        channel = await self.web.desk.read(load)
        if channel is None:
            raise Refused(404, "no such chat")
        return channel

    async def limits(self) -> dict[str, int]:
        return await self.web.limits()  # C5: the desk's settings

    async def visitor(self, channel: Channel, token: str | None) -> Visitor | None:
        if not token:
            return None
        found = await self.web.desk.query(
            lambda s: chat_store.visitor_chat(s, chat.token_hash(token))
        )
        if found is None:
            return None
        visitor_id, conversation_id, visitor_channel, email_known = found
        if visitor_channel != channel.id:
            return None
        return Visitor(visitor_id, conversation_id, email_known)

    def own_origin(self, headers: Any, scheme: str) -> str:
        return f"{scheme}://{headers.get('host', '')}".lower()

    def check_origin(self, channel: Channel, origin: str | None, own: str) -> None:
        """C5: the widget answers its own pages and the sites on the allow-list only."""
        if origin is None or origin.lower() == own:
            return
        if not web_channel_settings.origin_allowed(channel.origins, origin):
            raise Refused(403, "this site may not use the chat")

    async def limited(self, name: str, key: str, per_minute: int) -> None:
        wait = await self.web.limiter(name, per_minute).hit(key)
        if wait is not None:
            raise Refused(
                429, "too many requests: try again shortly", RateLimiter.retry_after(wait)
            )

    # --- HTTP -----------------------------------------------------------------------------

    def endpoint(
        self, handler: Callable[[Request, Channel], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            origin = request.headers.get("origin")
            try:
                channel = await self.channel(request.path_params["name"])
                own = self.own_origin(request.headers, request.url.scheme)
                if request.method == "OPTIONS":
                    self.check_origin(channel, origin, own)
                    return self._cors(Response(status_code=204), origin, own, preflight=True)
                self.check_origin(channel, origin, own)
                response = await handler(request, channel)
            except Refused as exc:
                headers = {"Retry-After": exc.retry_after} if exc.retry_after else None
                response = JSONResponse({"error": exc.text}, exc.status, headers=headers)
                return response if exc.status == 403 else self._cors(response, origin, None)
            except ChatError as exc:
                response = JSONResponse({"error": str(exc)}, 400)
            except DatabaseError:  # busy (a writer held the lock too long): nothing stored
                log.warning("the database was busy; the visitor was asked to retry")
                response = JSONResponse(
                    {"error": "busy: try again shortly"}, 503, headers={"Retry-After": "1"}
                )
            return self._cors(response, origin, None)

        return run

    def _cors(
        self, response: Response, origin: str | None, own: str | None, *, preflight: bool = False
    ) -> Response:
        response.headers["Cache-Control"] = "no-store"
        response.headers["Vary"] = "Origin"
        if origin and origin.lower() != (own or ""):
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Credentials"] = "true"
            if preflight:
                response.headers["Access-Control-Allow-Methods"] = "GET, POST"
                response.headers["Access-Control-Allow-Headers"] = "Content-Type"
                response.headers["Access-Control-Max-Age"] = "600"
        return response

    async def body(self, request: Request, limit: int) -> dict[str, Any]:
        raw = await request.body()
        if len(raw) > limit + 4096:
            raise Refused(413, "the message is too long")
        try:
            data = json.loads(raw or b"{}")
        except ValueError as exc:
            raise Refused(400, "the request is not JSON") from exc
        if not isinstance(data, dict):
            raise Refused(400, "the request is not a JSON object")
        return {k: v if isinstance(v, str) else "" for k, v in data.items()}

    async def state(self, request: Request, channel: Channel) -> Response:
        visitor = await self.visitor(channel, request.cookies.get(cookie_name(channel)))
        available = await self.web.desk.read(lambda repo: chat.availability(repo, channel.id))
        lines: list[chat_store.ChatLine] = []
        ended = False
        shown = None
        if visitor is not None:
            shown = await self.web.desk.query(lambda s: chat_store.latest_chat(s, visitor.id))
            if shown is not None:
                lines = await self.web.desk.query(lambda s: chat_store.feed(s, shown[0]))
                ended = shown[1]
        return JSONResponse(
            {
                "channel": channel.name,
                "online": available.online,
                "next_open": available.next_open.isoformat() if available.next_open else None,
                "visitor": visitor is not None,
                "email_known": visitor is not None and visitor.email_known,
                "chat": shown[0] if shown else None,
                "ended": ended,
                "messages": [_json(line) for line in lines],
            }
        )

    async def start(self, request: Request, channel: Channel) -> Response:
        data = await self.body(request, 2000)
        limits = await self.limits()
        address = self.web.client_address(request)
        token = chat.new_token()
        # validate before counting: a typo is no new chat
        chat.clean_email(data.get("email", ""))
        await self.limited("chat_new", address, limits["chat_new_per_minute"])
        await self.writer.submit(
            lambda repo: (
                chat_visitors.arrive(
                    repo,
                    channel.id,
                    chat.token_hash(token),
                    name=data.get("name", ""),
                    email=data.get("email", ""),
                    address=address,
                ).id
            )
        )
        response = JSONResponse({"ok": True})
        response.set_cookie(
            cookie_name(channel),
            token,
            max_age=COOKIE_DAYS * 86400,
            path=f"/chat/{channel.name}",
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https" or self.web.config.secure_cookies,
        )
        return response

    async def _require(self, request: Request, channel: Channel) -> Visitor:
        visitor = await self.visitor(channel, request.cookies.get(cookie_name(channel)))
        if visitor is None:
            raise Refused(401, "start the chat first")
        return visitor

    async def message(self, request: Request, channel: Channel) -> Response:
        limits = await self.limits()
        data = await self.body(request, limits["chat_message_bytes"])
        visitor = await self._require(request, channel)
        written = await self.write(visitor, data.get("text", ""), limits)
        return JSONResponse({"id": written.message_row_id, "chat": written.conversation_id})

    async def write(
        self, visitor: Visitor, text: str, limits: dict[str, int]
    ) -> chat_visitors.Written:
        """C5: over the size or the rate limit nothing is stored."""
        size = limits["chat_message_bytes"]
        if len(text.encode("utf-8", "surrogatepass")) > size:
            raise Refused(413, f"the message is over {size // 1000} kB")
        # Counted in the writer's batch, not in a transaction of its own per line (SQLite has
        # one writer: a second transaction per line queued behind the batches).
        limiter = self.web.limiter("chat_messages", limits["chat_messages_per_minute"])

        def store(repo: Any) -> chat_visitors.Written:
            limiter.count_in(repo.session, str(visitor.id))
            return chat_visitors.write(repo, visitor.id, text, limit_bytes=size)

        try:
            return await self.writer.submit(store)
        except OverLimit as over:
            retry = RateLimiter.retry_after(over.wait)
            raise Refused(429, "too many requests: try again shortly", retry) from None

    def _stored(self) -> None:
        """A batch of the writer committed: the hub looks now, the automation settles."""
        self.hub.wake()
        self.settle_soon()

    def settle_soon(self) -> None:
        """The automation the stored messages caused (R-C1's ticket, the workflows), handled
        right after the answer rather than before it: one drain at a time covers every message
        stored meanwhile (their events wait in the durable queue, E2)."""
        self._unsettled = True
        if self._settler is None or self._settler.done():
            self._settler = asyncio.create_task(self._settle(), name="chat-settle")

    async def _settle(self) -> None:
        while self._unsettled:
            self._unsettled = False
            await self.web.desk.settle(bulk=True)  # SQLite: the synchronous connection

    async def typing(self, request: Request, channel: Channel) -> Response:
        visitor = await self._require(request, channel)
        await self.visitor_typing(visitor)
        return JSONResponse({"ok": True})

    async def visitor_typing(self, visitor: Visitor) -> None:
        """Kept on the visitor, never on the timeline (C7); written at most every few seconds."""
        now = time.monotonic()
        if now - self._typing_written.get(visitor.id, 0.0) < TYPING_WRITE_SECONDS:
            return
        self._typing_written[visitor.id] = now
        await self.web.desk.store(lambda repo: repo.touch_chat_visitor(visitor.id, typing=True))

    async def transcript(self, request: Request, channel: Channel) -> Response:
        visitor = await self._require(request, channel)
        limits = await self.limits()
        await self.limited(
            "chat_transcript", str(visitor.id), max(1, limits["chat_new_per_minute"])
        )
        shown = await self.web.desk.query(lambda s: chat_store.latest_chat(s, visitor.id))
        if shown is None:
            raise Refused(400, "there is no chat to send yet")
        await self.web.desk.run(
            lambda repo: chat_visitors.send_transcript(repo, visitor.id, shown[0])
        )
        return JSONResponse({"ok": True})

    async def offline(self, request: Request, channel: Channel) -> Response:
        limits = await self.limits()
        data = await self.body(request, limits["chat_message_bytes"])
        text = data.get("text", "")
        if len(text.encode("utf-8", "surrogatepass")) > limits["chat_message_bytes"]:
            raise Refused(413, "the message is too long")
        chat.clean_email(data.get("email", ""))
        await self.limited(
            "chat_new", self.web.client_address(request), limits["chat_new_per_minute"]
        )
        await self.web.desk.run(
            lambda repo: chat_visitors.leave_message(
                repo,
                channel.id,
                name=data.get("name", ""),
                email=data.get("email", ""),
                text=text,
                limit_bytes=limits["chat_message_bytes"],
            )
        )
        return JSONResponse({"ok": True})

    async def poll(self, request: Request, channel: Channel) -> Response:
        """The fallback of the live connection: new messages after `after`, or the chat's end,
        as soon as there are some, else an empty answer after LONG_POLL_SECONDS."""
        visitor = await self._require(request, channel)
        try:
            after = int(request.query_params.get("after", "0"))
        except ValueError:
            after = 0
        if visitor.conversation_id is None:  # no chat yet, or it ended: look again soon
            await asyncio.sleep(2.0)
            return JSONResponse({"messages": [], "typing": False})
        sub = self.hub.subscribe(visitor.conversation_id, after)
        try:
            self.hub.wake()
            found: list[dict[str, Any]] = []
            state: dict[str, Any] = {}
            deadline = asyncio.get_running_loop().time() + LONG_POLL_SECONDS
            while not found and not state:
                left = deadline - asyncio.get_running_loop().time()
                if left <= 0:
                    break
                try:
                    event = await asyncio.wait_for(sub.queue.get(), left)
                except TimeoutError:
                    break
                if event["type"] == "messages":
                    found += event["messages"]
                else:
                    state = event
            while not sub.queue.empty():  # whatever came with it
                event = sub.queue.get_nowait()
                if event["type"] == "messages":
                    found += event["messages"]
                else:
                    state = event
        finally:
            self.hub.unsubscribe(sub)
        return JSONResponse(
            {
                "messages": found,
                "ended": state.get("ended", False),
                "typing": state.get("typing", False),
            }
        )

    async def page(self, request: Request) -> Response:
        try:
            channel = await self.channel(request.path_params["name"])
        except Refused:
            return self.web.page(
                "error.html", status_code=404, title="Not found", text="No such page."
            )
        return self.web.page(
            "chat.html",
            frame_ancestors=("'self'", *channel.origins),
            title=f"Chat with {channel.name}",
            channel=channel.name,
            transport="poll" if request.query_params.get("transport") == "poll" else "websocket",
        )

    # --- the live connection ------------------------------------------------------------------

    async def socket(self, ws: WebSocket) -> None:
        try:
            channel = await self.channel(ws.path_params["name"])
            own = self.own_origin(ws.headers, "https" if ws.url.scheme == "wss" else "http")
            self.check_origin(channel, ws.headers.get("origin"), own)
        except Refused:
            await ws.close(code=1008)
            return
        visitor = await self.visitor(channel, ws.cookies.get(cookie_name(channel)))
        if visitor is None:
            await ws.close(code=4401)
            return
        await ws.accept()
        after = 0
        with contextlib.suppress(ValueError):
            after = int(ws.query_params.get("after", "0"))
        live = _Live(self, ws, visitor, after)
        await live.run()


class _Live:
    """One WebSocket: frames from the visitor (message, typing) and to it (messages, state,
    error). A visitor's first message starts a chat; the connection then follows it."""

    def __init__(self, routes: ChatRoutes, ws: WebSocket, visitor: Visitor, after: int) -> None:
        self.routes = routes
        self.ws = ws
        self.visitor = visitor
        self.after = after
        self.sub: Subscriber | None = None
        if visitor.conversation_id is not None:
            self.sub = routes.hub.subscribe(visitor.conversation_id, after)
        self.outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def run(self) -> None:
        reader = asyncio.create_task(self._read())
        try:
            while not reader.done():
                queue = self.sub.queue if self.sub is not None else self.outbox
                getter = asyncio.create_task(queue.get())
                done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
                if getter in done:
                    await self.ws.send_json(getter.result())
                else:
                    getter.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await getter
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            reader.cancel()
            with contextlib.suppress(BaseException):
                await reader
            if self.sub is not None:
                self.routes.hub.unsubscribe(self.sub)

    def follow(self, conversation_id: int) -> None:
        if self.sub is not None and self.sub.conversation_id == conversation_id:
            return
        if self.sub is not None:
            self.routes.hub.unsubscribe(self.sub)
        self.sub = self.routes.hub.subscribe(conversation_id, 0)
        self.outbox.put_nowait({"type": "chat", "chat": conversation_id})  # wakes the sender
        self.routes.hub.wake()

    async def _read(self) -> None:
        while True:
            try:
                frame = await self.ws.receive_json()
            except (ValueError, KeyError):
                await self._send_error(400, "frames are JSON objects")
                continue
            if not isinstance(frame, dict):
                continue
            kind = frame.get("type")
            if kind == "typing":
                await self.routes.visitor_typing(self.visitor)
            elif kind == "message":
                await self._message(frame)

    async def _message(self, frame: dict[str, Any]) -> None:
        text = frame.get("text")
        nonce = frame.get("nonce")
        if not isinstance(text, str):
            await self._send_error(400, "a message has text", nonce)
            return
        try:
            written = await self.routes.write(self.visitor, text, await self.routes.limits())
        except Refused as exc:  # C5: an error frame, nothing stored
            await self._send_error(exc.status, exc.text, nonce, exc.retry_after)
            return
        except ChatError as exc:
            await self._send_error(400, str(exc), nonce)
            return
        except DatabaseError:
            await self._send_error(503, "busy: try again shortly", nonce, "1")
            return
        await self.ws.send_json({"type": "sent", "id": written.message_row_id, "nonce": nonce})
        self.follow(written.conversation_id)

    async def _send_error(
        self, status: int, text: str, nonce: Any = None, retry_after: str | None = None
    ) -> None:
        frame: dict[str, Any] = {"type": "error", "status": status, "error": text, "nonce": nonce}
        if retry_after is not None:
            frame["retry_after"] = int(retry_after)
        await self.ws.send_json(frame)


def routes(web: Web) -> list[BaseRoute]:
    chat_routes = ChatRoutes(web)
    web_state = getattr(web, "__dict__", None)
    if web_state is not None:
        web_state["chat_hub"] = chat_routes.hub  # tests and the benchmark read its state
        web_state["chat_writer"] = chat_routes.writer
    api = "/chat/{name}/api/"
    both = ["POST", "OPTIONS"]
    e = chat_routes.endpoint
    return [
        Route("/chat/{name}", chat_routes.page, methods=["GET"]),
        Route(api + "state", e(chat_routes.state), methods=["GET", "OPTIONS"]),
        Route(api + "poll", e(chat_routes.poll), methods=["GET", "OPTIONS"]),
        Route(api + "start", e(chat_routes.start), methods=both),
        Route(api + "messages", e(chat_routes.message), methods=both),
        Route(api + "typing", e(chat_routes.typing), methods=both),
        Route(api + "transcript", e(chat_routes.transcript), methods=both),
        Route(api + "offline", e(chat_routes.offline), methods=both),
        WebSocketRoute("/chat/{name}/ws", chat_routes.socket),
    ]
