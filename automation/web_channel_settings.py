"""What the web's channels share in their settings (SPEC C2, C4, C5, C6): the site origins a
form's page may be embedded by and a chat's widget answers (C5), and the email channel a form
replies through and a chat sends transcripts and offline messages through. One module for both
`automation.forms.set_form_channel` and `automation.chat_settings.set_chat_channel`, and for the
web side's check of a request's origin (`origin_allowed`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from automation.admin.common import SettingsError

NONE = ("", "-")  # "no reply-through channel"


def normalize_origin(text: str) -> str:
    """A site origin as a browser sends it: scheme://host[:port], http or https, no path, lower
    case; SettingsError saying the form otherwise."""
    value = text.strip().rstrip("/")
    try:
        parts = urlsplit(value)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:  # a port that is not a number, or out of range
        parts, port = None, ""
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path
        or parts.query
        or parts.fragment
        or parts.username
        or any(c in value for c in " '\";,*")
    ):
        raise SettingsError(
            f"an origin is scheme://host[:port] (e.g. https://www.example.com), not {text!r}"
        )
    host = parts.hostname.lower()
    if ":" in host:  # an IPv6 address keeps its brackets
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{port}"


def normalize_origins(origins: Iterable[str]) -> list[str]:
    """An allow-list as stored: each origin normalized, blanks dropped, each once, sorted."""
    return sorted({normalize_origin(o) for o in origins if o.strip()})


def origin_allowed(allowed: Iterable[str], origin: str) -> bool:
    """C5: is a request's Origin header one of the allowed site origins."""
    wanted = origin.strip().rstrip("/").lower()
    return any(wanted == o.rstrip("/").lower() for o in allowed)


def reply_channel_id(repo: Any, name: str, *, purpose: str) -> int | None:
    """The email channel named `name` ("" or "-": none) a web channel answers through; it must
    have an address. `purpose` starts the refusal: "a form replies through"."""
    if name in NONE:
        return None
    channel = repo.channel_by_name(name)
    if channel is None or channel.kind != "email" or not channel.address:
        emails = ", ".join(c.name for c in repo.channels() if c.kind == "email") or "none yet"
        raise SettingsError(
            f"{purpose} an email channel with an address, not {name!r} (email channels: {emails})"
        )
    return int(channel.id)
