"""Safe names for attachments: an untrusted name from mail made fit to be a file name.

Pure functions, no file system (SPEC D14): the writer (runtime.files) opens the file.
"""

from __future__ import annotations

import mimetypes
import re
import unicodedata

MAX_NAME_BYTES = 200
MAX_EXTENSION_CHARS = 16
# Windows device names, reserved with any extension ("CON.txt" too), and the two dot names.
_DEVICES = frozenset(
    {"CON", "PRN", "AUX", "NUL"}
    | {f"COM{n}" for n in range(1, 10)}
    | {f"LPT{n}" for n in range(1, 10)}
)
_SEPARATORS = re.compile(r"[/\\]")
# Bidi embeddings, overrides, isolates and marks: they make "gpj.exe" read "exe.jpg".
_BIDI = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_KNOWN_EXTENSIONS = {
    "message/rfc822": ".eml",
    "text/plain": ".txt",
    "image/jpeg": ".jpg",
    "application/octet-stream": ".bin",
}
# Names the opener would run as a program, never opened by Deskline (D14): saving stays possible.
_PROGRAM_EXTENSIONS = frozenset(
    f".{ext}"
    for ext in (  # noqa: SIM905 (one word each, and the list fits a screen)
        "exe com bat cmd scr pif msi msp dll cpl ps1 psm1 vbs vbe js jse wsf wsh hta lnk reg jar "
        "sh bash zsh csh ksh fish command tool app desktop run bin appimage py pyw pl rb php elf "
        "out deb rpm apk dmg pkg mpkg workflow scpt action url inf sys drv ocx gadget application "
        "xbap jnlp"
    ).split()
)
_PROGRAM_TYPES = frozenset(
    {
        "application/x-executable",
        "application/x-sharedlib",
        "application/x-pie-executable",
        "application/x-mach-binary",
        "application/x-msdownload",
        "application/x-msdos-program",
        "application/x-ms-installer",
        "application/x-msi",
        "application/vnd.microsoft.portable-executable",
        "application/x-dosexec",
        "application/x-sh",
        "application/x-shellscript",
        "application/x-csh",
        "application/x-desktop",
        "application/x-java-archive",
        "application/java-archive",
        "application/x-java-jnlp-file",
        "application/x-bat",
        "application/x-ms-shortcut",
        "application/hta",
        "text/x-shellscript",
        "text/x-python",
        "text/x-script.python",
        "application/x-python-code",
        "application/x-perl",
        "application/x-ruby",
        "application/x-apple-diskimage",
        "application/vnd.debian.binary-package",
        "application/x-rpm",
        "application/vnd.android.package-archive",
    }
)
# The first bytes of programs: ELF, Windows PE ("MZ"), Mach-O (both byte orders, fat), scripts.
_PROGRAM_MAGIC = (
    b"\x7fELF",
    b"MZ",
    b"\xfe\xed\xfa\xce",
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
    b"#!",
    b"[Desktop Entry]",
)


def safe_filename(name: str, number: int, content_type: str) -> str:
    """The name an attachment is saved under: the last path component of `name` without NUL,
    control, format or bidi characters; a reserved name gets a `_` in front; at most 200 bytes
    of UTF-8 with the extension kept; an empty one becomes `attachment-N.ext`."""
    cleaned = _clean(_SEPARATORS.split(name)[-1])
    if not cleaned:
        return f"attachment-{number}{extension_for(content_type)}"
    if _reserved(cleaned):
        cleaned = "_" + cleaned
    return _shorten(cleaned, MAX_NAME_BYTES)


def extension_for(content_type: str) -> str:
    """The usual extension of a content type ("" when it has none we know)."""
    ctype = content_type.split(";", 1)[0].strip().lower()
    return _KNOWN_EXTENSIONS.get(ctype) or mimetypes.guess_extension(ctype) or ""


def split_extension(name: str) -> tuple[str, str]:
    """("report", ".pdf") of "report.pdf"; a leading dot or a long tail is not an extension."""
    dot = name.rfind(".")
    if dot <= 0 or len(name) - dot > MAX_EXTENSION_CHARS or name[dot + 1 :].strip() == "":
        return name, ""
    return name[:dot], name[dot:]


def is_program(name: str, content_type: str, head: bytes) -> bool:
    """Whether an opener would run the file as a program (an executable, a script, a
    `.desktop` launcher, an installer): such a file is saved, never opened (D14).
    `head` is the start of the file's bytes."""
    _stem, ext = split_extension(name.strip().rstrip(". "))
    if ext.lower() in _PROGRAM_EXTENSIONS:
        return True
    if content_type.split(";", 1)[0].strip().lower() in _PROGRAM_TYPES:
        return True
    return head.lstrip(b"\xef\xbb\xbf").startswith(_PROGRAM_MAGIC)


def _clean(name: str) -> str:
    kept = "".join(ch for ch in name if not _unwanted(ch))
    return kept.strip()


def _unwanted(ch: str) -> bool:
    """NUL and other controls (C0, DEL, C1), bidi controls, invisible format characters, line
    separators, and lone surrogates (undecodable bytes)."""
    return ch in _BIDI or unicodedata.category(ch) in {"Cc", "Cf", "Cs", "Zl", "Zp"}


def _reserved(name: str) -> bool:
    if name in {".", ".."}:
        return True
    device = name.split(".", 1)[0].rstrip(" ").upper()
    return device in _DEVICES


def _shorten(name: str, limit: int) -> str:
    """`name` in at most `limit` bytes of UTF-8, cut at a character, the extension kept."""
    if len(name.encode()) <= limit:
        return name
    stem, ext = split_extension(name)
    room = limit - len(ext.encode())
    cut = stem.encode()[:room].decode("utf-8", "ignore").rstrip()
    return (cut or "attachment") + ext
