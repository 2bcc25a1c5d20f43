"""The form channel's page (SPEC C2, C5): GET /form/ID shows a contact form that works without
JavaScript; POST /form/ID takes a submission and stores it through the one ingest path (B8.2) as
an inbound message on the form channel, always a new conversation, so R-C1 opens its ticket and
its status actions run ("Ticket received" goes out through the channel's email channel).

Against robots and floods (C5), in this order, each refusing before anything is stored:
- at most `form_posts_per_minute` (a desk setting) posts per client address (429, Retry-After);
- a body over the D15 limit (413); a post from another site's page (Origin, 403);
- a CSRF token, issued with the page, stateless and signed with a host-local key (runtime.web.
  form_tokens: it outlives a restart), spent by one submission and good for a day (403 without
  a valid one);
- the honeypot field (filled in: a thank-you page and nothing stored);
- the minimum fill time since the page was issued (`form_min_fill_seconds`, a desk setting;
  sooner: the form again).

The page may be embedded (an iframe, `?embed=1`) by the sites on the channel's origin list
(frame-ancestors); everything a visitor typed is shown as text (autoescaped templates).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from automation import forms
from automation.ingest import ingest_message
from automation.web_paths import FORM_PATH
from mail.parse import parse_message
from runtime import files
from runtime.web.context import Web
from runtime.web.form_tokens import KEY_NAME, SPENT_PREFIX, FormTokens, load_key
from runtime.web.limits import RateLimiter
from storage import rate_counts
from storage.repository import SqlRepository

FIELDS = ("name", "email", "subject", "message")
HONEYPOT = "website"  # C5: hidden from people by CSS; robots fill it in
TOKEN = "token"
BODY_LIMIT = forms.ENCODED_LIMIT + 200_000  # the encoded file plus the fields and boundaries


@dataclass(frozen=True)
class FormChannel:
    id: int
    name: str
    origins: tuple[str, ...]
    replies: bool  # names an email channel to reply through


def routes(web: Web) -> list[BaseRoute]:
    page = FormPage(web)
    path = FORM_PATH.replace("{channel_id}", "{channel_id:int}")
    return [Route(path, page.get, methods=["GET"]), Route(path, page.post, methods=["POST"])]


class FormPage:
    def __init__(self, web: Web) -> None:
        self.web = web
        key = load_key(web.config.key_file or files.data_dir() / KEY_NAME)
        self.tokens = FormTokens(key, web.config.form_lifetime_seconds)
        self._pruned_at = 0.0  # when the spent tokens past their lifetime were last pruned
        self._origins: dict[int, tuple[str, ...]] = {}  # channel -> who may frame its pages

    # --- GET ----------------------------------------------------------------------------------

    async def get(self, request: Request) -> Response:
        channel = await self._channel(request)
        if channel is None:
            return self._missing()
        return await self._form(request, channel, values={}, problems={})

    # --- POST ---------------------------------------------------------------------------------

    async def post(self, request: Request) -> Response:
        limits = await self.web.limits()
        address = self.web.client_address(request)
        wait = await self.web.limiter("form posts", limits["form_posts_per_minute"]).hit(address)
        if wait is not None:  # C5: refused, nothing stored
            return self._said(
                request,
                429,
                "Too many messages",
                "Too many messages from your address: please wait a minute and send again.",
                headers={"Retry-After": RateLimiter.retry_after(wait)},
            )
        channel = await self._channel(request)
        if channel is None:
            return self._missing()
        length = request.headers.get("content-length", "")
        if not length.isdigit():
            return self._said(request, 411, "Not sent", "The form was sent without a length.")
        if int(length) > BODY_LIMIT:
            return self._said(request, 413, "Too large", _too_large())
        if not _same_origin(request):
            return self._said(request, 403, "Not sent", "This form only takes posts from its page.")
        try:
            data = await request.form(max_files=1, max_fields=len(FIELDS) + 4)
        except MultiPartException:
            return self._said(request, 400, "Not sent", "The form could not be read.")
        try:
            return await self._submitted(request, channel, data)
        finally:
            await data.close()

    async def _submitted(self, request: Request, channel: FormChannel, data: FormData) -> Response:
        values = {name: _text(data.get(name)) for name in FIELDS}
        issued = self.tokens.check(_text(data.get(TOKEN)), channel.id, self._now())
        if issued is None:  # C5: no valid CSRF token
            return self._expired(request)
        if _text(data.get(HONEYPOT)).strip():  # C5: looks accepted, stores nothing
            return self._thanks(request, channel, values)
        fill_seconds = (await self.web.limits())["form_min_fill_seconds"]
        if self._now() - issued < fill_seconds:  # C5: a desk setting
            note = "That was quick: please check your message, then send it again."
            return await self._form(request, channel, values, {"form": note}, status_code=400)
        upload = await _upload(data.get("file"))
        submission = forms.Submission(
            values["name"], values["email"], values["subject"], values["message"], upload
        )
        limits = await self.web.limits()
        problems = forms.check_submission(submission, limits["form_message_bytes"])
        if problems:
            return await self._form(request, channel, values, problems, status_code=400)
        try:
            raw = forms.submission_mail(
                submission, now=self.web.config.clock(), channel_name=channel.name
            )
        except ValueError as exc:
            return await self._form(request, channel, values, {"file": str(exc)}, status_code=413)
        # sent twice (at once, to another serving process, after a restart): the first one counts
        spent = self.tokens.spend_key(_text(data.get(TOKEN)))
        if spent is None:
            return self._thanks(request, channel, values)
        now, lifetime = self._now(), self.tokens.lifetime
        prune = not 0 <= now - self._pruned_at < 60
        if prune:
            self._pruned_at = now

        def store(repo: Any) -> bool:
            if prune:
                rate_counts.prune(repo.session, now, lifetime + 60, SPENT_PREFIX)
            if not rate_counts.first_use(repo.session, spent[0], spent[1], lifetime):
                return False
            _store(repo, channel.id, raw)
            return True

        if not await self.web.desk.run(store):  # C5: a spent token, as one never issued
            return self._expired(request)
        return self._thanks(request, channel, values)

    # --- pages --------------------------------------------------------------------------------

    def _expired(self, request: Request) -> Response:
        return self._said(
            request,
            403,
            "This form has expired",
            "The form was not sent: reload the page and send it again.",
        )

    async def _form(
        self,
        request: Request,
        channel: FormChannel,
        values: dict[str, str],
        problems: dict[str, str],
        *,
        status_code: int = 200,
    ) -> Response:
        embedded = request.query_params.get("embed") == "1"
        return self.web.page(
            "form.html",
            status_code=status_code,
            frame_ancestors=("'self'", *channel.origins),
            title=f"Contact us — {channel.name}",
            channel=channel.name,
            action=request.url.path + ("?embed=1" if embedded else ""),
            token=self.tokens.issue(channel.id, self._now()),
            values=values,
            problems=problems,
            embedded=embedded,
            honeypot=HONEYPOT,
            file_mb=forms.ENCODED_LIMIT * 3 // 4 // 1_000_000,
            message_kb=(await self.web.limits())["form_message_bytes"] // 1000,
        )

    def _thanks(self, request: Request, channel: FormChannel, values: dict[str, str]) -> Response:
        return self.web.page(
            "form_thanks.html",
            frame_ancestors=("'self'", *channel.origins),
            title="Thank you",
            values=values,
            embedded=request.query_params.get("embed") == "1",
        )

    def _said(
        self,
        request: Request,
        status_code: int,
        title: str,
        text: str,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """A refusal, shown where the form was (in its site's iframe too)."""
        channel_id = int(request.path_params["channel_id"])
        return self.web.page(
            "error.html",
            status_code=status_code,
            frame_ancestors=("'self'", *self._origins.get(channel_id, ())),
            title=title,
            text=text,
            headers=headers,
        )

    def _missing(self) -> Response:
        return self.web.page("error.html", status_code=404, title="Not found", text="No such form.")

    # --- the channel --------------------------------------------------------------------------

    async def _channel(self, request: Request) -> FormChannel | None:
        channel_id = int(request.path_params["channel_id"])

        def load(repo: SqlRepository) -> FormChannel | None:
            channel = repo.channel_or_none(channel_id)
            if channel is None or channel.kind != "form":
                return None
            settings = repo.form_settings(channel.id)
            return FormChannel(
                channel.id,
                channel.name,
                tuple(settings.origins) if settings is not None else (),
                settings is not None and settings.reply_channel_id is not None,
            )

        found = await self.web.desk.read(load)
        if found is not None:
            self._origins[found.id] = found.origins
        return found

    def _now(self) -> float:
        return self.web.config.clock().timestamp()


def _store(repo: SqlRepository, channel_id: int, raw: bytes) -> None:
    """C2: the submission enters as mail does, on the form channel, never threaded."""
    ingest_message(
        repo, repo.channel(channel_id), parse_message(raw), raw, unthreaded=forms.UNTHREADED
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


async def _upload(value: Any) -> forms.Upload | None:
    if not isinstance(value, UploadFile) or not value.filename:
        return None
    data = await value.read()
    if not data:
        return None
    return forms.Upload(value.filename, value.content_type or "application/octet-stream", data)


def _same_origin(request: Request) -> bool:
    """A browser's post names the page it came from; ours is this host (the embedded form's
    page is ours too). No Origin (an old browser, curl): allowed, the token still rules."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    host = request.headers.get("host", "")
    return bool(host) and urlsplit(origin).netloc == host


def _too_large() -> str:
    return (
        f"The form was not sent: it is too large (a file of at most about "
        f"{forms.ENCODED_LIMIT * 3 // 4 // 1_000_000} MB)."
    )
