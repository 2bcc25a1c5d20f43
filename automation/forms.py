"""The form channel, the domain side (SPEC C2, C5): its settings, what a submission must be, and
the email a submission becomes so it enters the desk through the one ingest path (B8.2).

- C2 A submission is an inbound message on the form channel: From = the address given (checked
  here), the subject and message as typed, at most one file within D15. It always starts a new
  conversation (`UNTHREADED`). A form channel names the email channel it replies through
  (`set_form_channel`); without one no email is queued and the timeline says why.
- C5 The message is at most `MESSAGE_BYTES`; the limits on posts live with the web side.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address as HeaderAddress
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, Protocol

from automation.admin.common import SettingsError, require_admin
from automation.ports import AdminRepository, UserLike
from automation.web_channel_settings import normalize_origins, reply_channel_id

MESSAGE_BYTES = 100_000  # C5: a form's message
ENCODED_LIMIT = 20_000_000  # D15: the encoded message, the file included
NAME_CHARS = 200
SUBJECT_CHARS = 300
FORM_DOMAIN = "form.deskline.invalid"  # RFC 2606: Message-IDs of submissions, never mail
UNTHREADED = "a web form: always a new conversation (an unverified sender never threads)"
NO_SUBJECT = "(form, no subject)"
# One address, as the form's email field takes it: local@domain.tld, no spaces or brackets.
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


class FormSettingsLike(Protocol):
    channel_id: int
    origins: list[Any]
    reply_channel_id: int | None


class FormRepository(AdminRepository, Protocol):
    """What form settings need beyond `AdminRepository` (storage.repository.channels)."""

    def form_settings(self, channel_id: int) -> FormSettingsLike | None: ...

    def set_form_settings(self, channel_id: int, **values: Any) -> FormSettingsLike: ...


# --- settings ----------------------------------------------------------------------------------


def set_form_channel(
    repo: FormRepository,
    user: UserLike,
    name: str,
    *,
    reply_through: str | None = None,
    origins: list[str] | None = None,
) -> FormSettingsLike:
    """An admin sets a form channel's email channel (`reply_through`, "" for none) and the site
    origins that may embed its page."""
    require_admin(user)
    channel = repo.channel_by_name(name)
    if channel is None or channel.kind != "form":
        forms = ", ".join(c.name for c in repo.channels() if c.kind == "form") or "none yet"
        raise SettingsError(f"no form channel {name!r} (form channels: {forms})")
    values: dict[str, Any] = {}
    if reply_through is not None:
        values["reply_channel_id"] = reply_channel_id(
            repo, reply_through, purpose="a form replies through"
        )
    if origins is not None:
        values["origins"] = normalize_origins(origins)
    return repo.set_form_settings(channel.id, **values)


# --- submissions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Submission:
    name: str
    email: str
    subject: str
    message: str
    upload: Upload | None = None


def one_line(text: str, limit: int) -> str:
    """A typed line as a header may carry it: no control or bidi characters, no line breaks."""
    return " ".join(_CONTROL.sub(" ", text.replace("\r", " ").replace("\n", " ")).split())[:limit]


def check_submission(submission: Submission, message_bytes: int = MESSAGE_BYTES) -> dict[str, str]:
    """What is wrong with a submission, by field (empty: nothing)."""
    problems: dict[str, str] = {}
    if not _EMAIL.match(submission.email.strip()) or len(submission.email.strip()) > 254:
        problems["email"] = "Please give an email address we can answer (name@example.com)."
    if not submission.message.strip():
        problems["message"] = "Please write a message."
    elif len(submission.message.encode("utf-8")) > message_bytes:
        problems["message"] = f"The message is too long (at most {message_bytes // 1000} kB)."
    if len(submission.name) > NAME_CHARS:
        problems["name"] = f"The name is too long (at most {NAME_CHARS} characters)."
    if len(submission.subject) > SUBJECT_CHARS:
        problems["subject"] = f"The subject is too long (at most {SUBJECT_CHARS} characters)."
    return problems


def submission_mail(submission: Submission, *, now: datetime, channel_name: str) -> bytes:
    """The submission as the inbound email the desk stores (SPEC C2); at most ENCODED_LIMIT
    bytes (D15) else ValueError, said to the visitor."""
    mail = EmailMessage()
    name = one_line(submission.name, NAME_CHARS)
    local, _, domain = submission.email.strip().partition("@")
    mail["From"] = HeaderAddress(display_name=name, username=local, domain=domain.lower())
    mail["Subject"] = one_line(submission.subject, SUBJECT_CHARS) or NO_SUBJECT
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = f"<{secrets.token_hex(16)}@{FORM_DOMAIN}>"
    mail["X-Deskline-Form"] = one_line(channel_name, 100)
    mail.set_content(submission.message.replace("\r\n", "\n"), subtype="plain", charset="utf-8")
    if submission.upload is not None:
        upload = submission.upload
        maintype, _, subtype = upload.content_type.partition("/")
        if not maintype or not subtype or "\n" in upload.content_type:
            maintype, subtype = "application", "octet-stream"
        mail.add_attachment(
            upload.data,
            maintype=maintype,
            subtype=subtype,
            filename=one_line(upload.filename, 200) or "attachment",
        )
    raw = bytes(mail)
    if len(raw) > ENCODED_LIMIT:
        raise ValueError(
            f"The file is too large: the message would be {len(raw):,} bytes "
            f"(at most {ENCODED_LIMIT:,}, about {ENCODED_LIMIT * 3 // 4 // 1_000_000} MB of file)."
        )
    return raw
