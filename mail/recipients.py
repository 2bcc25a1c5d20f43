"""Addresses a person types for an email (To, Cc, Bcc; SPEC D16, §7): every one is checked, a bad
one is an error that names it (never a recipient silently dropped), and no CR/LF or control
character can reach a header."""

from __future__ import annotations

import re
from collections.abc import Iterable
from email.utils import getaddresses

from mail.compose import HeaderInjectionError, check_address
from mail.model import Address

_BREAKS = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]")


class RecipientError(ValueError):
    """A typed address that cannot be sent to; the message names it."""


def parse_recipients(text: str | Iterable[str], *, field: str = "To") -> tuple[Address, ...]:
    """`a@x.org, Name <b@y.org>` (or several such strings, e.g. repeated --cc flags) as
    addresses, lowercased, deduplicated in order. Raises RecipientError naming the first
    address that is not valid, or any line break or control character."""
    texts = [text] if isinstance(text, str) else list(text)
    found: list[Address] = []
    for value in texts:
        if _BREAKS.search(value):
            raise RecipientError(f"{field}: an address contains a line break or control character")
        if not value.strip():
            continue
        for piece in _split(value):
            pairs = getaddresses([piece])
            if len(pairs) != 1 or not pairs[0][1] or "@" not in pairs[0][1]:
                raise RecipientError(f"{field}: not a valid email address: {piece.strip()!r}")
            name, addr = pairs[0]
            try:
                check_address(addr)
            except HeaderInjectionError as exc:
                raise RecipientError(f"{field}: not a valid email address: {addr!r}") from exc
            found.append(Address(addr.lower(), name.strip()))
    return dedupe_addresses(found)


def _split(value: str) -> list[str]:
    """Split on commas and semicolons outside quotes and angle brackets."""
    pieces: list[str] = []
    current: list[str] = []
    quoted = angle = False
    for char in value:
        if char == '"':
            quoted = not quoted
        elif char == "<" and not quoted:
            angle = True
        elif char == ">" and not quoted:
            angle = False
        if char in ",;" and not quoted and not angle:
            pieces.append("".join(current))
            current = []
            continue
        current.append(char)
    pieces.append("".join(current))
    return [p for p in pieces if p.strip()]


def dedupe_addresses(
    addresses: Iterable[Address], *, without: Iterable[str] = ()
) -> tuple[Address, ...]:
    """In order, once each (case-insensitive), leaving out the addresses `without`."""
    seen = {a.lower() for a in without}
    kept = []
    for address in addresses:
        key = address.addr.lower()
        if key and key not in seen:
            seen.add(key)
            kept.append(address)
    return tuple(kept)


def format_recipients(addresses: Iterable[Address]) -> str:
    """The editable one-line form the composer shows: `Name <a@x.org>, b@y.org`."""
    out = []
    for address in addresses:
        name = address.name.replace('"', "").strip()
        out.append(f'"{name}" <{address.addr}>' if name else address.addr)
    return ", ".join(out)
