"""The form's CSRF token (SPEC C5): stateless and signed, so it outlives a restart of
`deskline serve --http` and is good at every serving process of the host.

A token is the channel, the time it was issued and a nonce, signed with HMAC-SHA256 under a key
kept host-local: a file of the data directory (`KEY_NAME`, 0600, in a folder that is the account's
alone), made by the first process that needs it and read by the others. The key is never in the
database (the desk's own secret is, and whoever can read the database could forge tokens with
a key derived from it). Several hosts serving one PostgreSQL desk behind one address need the
same key file (copy it); a token from another host is refused like a forged one.

`check` answers when a valid token was issued, or None: not ours, for another channel, or
older than the lifetime (a day). That one submission spends a token is kept in the desk's
database (`spend_key`, storage.rate_counts.first_use, in the transaction that stores the
submission): a double-click makes one ticket, at any serving process, before or after a restart.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import struct
from pathlib import Path

from runtime import files

KEY_NAME = "web_form_key"
KEY_BYTES = 32
SIG_BYTES = 16
_BODY = struct.Struct(">Id")  # channel id, issued at (seconds since the epoch)
NONCE_BYTES = 16
SPENT_PREFIX = "form token:"  # the spent tokens' keys in web_rate_counts


class KeyFileError(Exception):
    """The key file cannot be made or read; the message is one line for the admin."""


def load_key(path: Path) -> bytes:
    """The host-local key at `path`, made (0600, never through a symlink) when it is not there
    yet. A file others may read is refused: its tokens could be forged."""
    try:
        path.parent.mkdir(mode=files.DIR_MODE, parents=True, exist_ok=True)
        try:
            fd = files.create_private(path)
        except FileExistsError:
            return _read_key(path)
        try:
            os.write(fd, secrets.token_hex(KEY_BYTES).encode() + b"\n")
        finally:
            os.close(fd)
    except OSError as exc:
        raise KeyFileError(f"cannot make the form key {path}: {exc.strerror or exc}") from exc
    return _read_key(path)


def _read_key(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        try:
            mode = os.fstat(fd).st_mode
            text = os.read(fd, 4 * KEY_BYTES).decode("ascii", "replace").strip()
        finally:
            os.close(fd)
    except OSError as exc:
        raise KeyFileError(f"cannot read the form key {path}: {exc.strerror or exc}") from exc
    if mode & 0o077:
        raise KeyFileError(
            f"the form key {path} may be read by others: chmod 600 it (or delete it: a new one "
            "is made, and forms opened before stop working)"
        )
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < 16:
        raise KeyFileError(f"the form key {path} is not a key (delete it: a new one is made)")
    return hashlib.sha256(b"deskline web form token\0" + key).digest()


class FormTokens:
    def __init__(self, key: bytes, lifetime_seconds: float) -> None:
        self.key = key
        self.lifetime = lifetime_seconds

    def issue(self, channel_id: int, now: float) -> str:
        body = _BODY.pack(channel_id, now) + secrets.token_bytes(NONCE_BYTES)
        return _b64(body + self._sign(body))

    def check(self, token: str, channel_id: int, now: float) -> float | None:
        """When the token was issued, if it is ours, for this channel and unexpired (that it is
        unspent is the database's to say, `spend_key`)."""
        raw = _unb64(token)
        if raw is None or len(raw) != _BODY.size + NONCE_BYTES + SIG_BYTES:
            return None
        body, sig = raw[:-SIG_BYTES], raw[-SIG_BYTES:]
        if not hmac.compare_digest(self._sign(body), sig):
            return None
        channel, issued = _BODY.unpack(body[: _BODY.size])
        if channel != channel_id or not issued - 60 <= now < issued + self.lifetime:
            return None
        return float(issued)

    def spend_key(self, token: str) -> tuple[str, float] | None:
        """A checked token's one-use key and issue time, for the database's record of spent
        tokens (storage.rate_counts.first_use), shared by every serving process of the desk."""
        raw = _unb64(token)
        if raw is None or len(raw) < _BODY.size + NONCE_BYTES:
            return None
        nonce = raw[_BODY.size : _BODY.size + NONCE_BYTES]
        issued = _BODY.unpack(raw[: _BODY.size])[1]
        return SPENT_PREFIX + nonce.hex(), float(issued)

    def _sign(self, body: bytes) -> bytes:
        return hmac.new(self.key, body, hashlib.sha256).digest()[:SIG_BYTES]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(token: str) -> bytes | None:
    if not token or len(token) > 100:
        return None
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except ValueError:
        return None
