"""Email templates: Jinja2 in a sandbox, undefined variables are errors (SPEC R-A9, B7)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

BRANDING_LINE = "—\nSent by Deskline, the help desk in your terminal."

# The two built-in templates (R-A2). They are seeded into the database and editable there.
BUILTIN_TEMPLATES = {
    "Ticket received": ("ticket_received.subject.j2", "ticket_received.body.j2"),
    "Ticket closed": ("ticket_closed.subject.j2", "ticket_closed.body.j2"),
}

# D10: what one render may take. Settings of the same names change them.
RENDER_SECONDS = 2.0  # CPU seconds
RENDER_MAX_BYTES = 1 << 20  # 1 MiB of subject and body


class _Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox, and `'x' * 10**8` or `2 ** 10**9` refused before they are computed (and never
    folded at compile time: intercepted operators are not constant-folded)."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            _check_repeat(left, right)
            _check_repeat(right, left)
        elif operator == "**" and _huge_power(left, right):
            raise SecurityError("that power is too large to compute")
        return super().call_binop(context, operator, left, right)


def _check_repeat(sequence: Any, times: Any) -> None:
    repeats = isinstance(sequence, str | bytes | list | tuple) and isinstance(times, int)
    if repeats and len(sequence) * times > RENDER_MAX_BYTES:
        raise SecurityError("that repetition would be over 1 MiB")


def _huge_power(base: Any, exponent: Any) -> bool:
    if not (isinstance(base, int) and isinstance(exponent, int)) or abs(base) <= 1:
        return False
    return exponent * abs(base).bit_length() > 8 * RENDER_MAX_BYTES


_env = _Sandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


def environment() -> ImmutableSandboxedEnvironment:
    """The sandbox templates render in (its filters, tests and globals are what they may use)."""
    return _env


class TemplateRenderError(Exception):
    """A template that cannot be rendered; the message says why in one line."""


class OutputTooLarge(TemplateRenderError):
    """D10: the render went over its output cap."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"the email would be over {_size(max_bytes)} (the limit)")


def _size(count: int) -> str:
    if count >= 1 << 20 and count % (1 << 20) == 0:
        return f"{count >> 20} MiB"
    return f"{count} bytes"


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


def builtin_template_text(name: str) -> tuple[str, str]:
    files = resources.files("automation.default_templates")
    subject_file, body_file = BUILTIN_TEMPLATES[name]
    return (
        files.joinpath(subject_file).read_text("utf-8").strip(),
        files.joinpath(body_file).read_text("utf-8"),
    )


@lru_cache(maxsize=256)
def _compiled(source: str) -> Template:
    return _env.from_string(source)


def render(
    subject: str, body: str, variables: dict[str, Any], max_bytes: int | None = None
) -> Rendered:
    """Render in this process. With `max_bytes` the output is counted as it is made and the
    render stops once over (the budgeted render of `automation.render_worker` passes it)."""
    counter = _Counter(max_bytes)
    try:
        rendered_subject = counter.render(_compiled(subject), variables)
        rendered_body = counter.render(_compiled(body), variables)
    except TemplateRenderError:
        raise
    except TemplateError as exc:
        raise TemplateRenderError(f"{type(exc).__name__}: {exc}") from exc
    except Exception as exc:  # the sandbox raises SecurityError and friends; never crash the engine
        raise TemplateRenderError(f"{type(exc).__name__}: {exc}") from exc
    return Rendered(" ".join(rendered_subject.split()), rendered_body.strip() + "\n")


class _Counter:
    """The bytes a render made so far, against its cap (none: not counted)."""

    def __init__(self, max_bytes: int | None) -> None:
        self.max_bytes = max_bytes
        self.size = 0

    def render(self, template: Template, variables: dict[str, Any]) -> str:
        if self.max_bytes is None:
            return template.render(variables)
        parts: list[str] = []
        for chunk in template.generate(variables):
            self.size += len(chunk.encode())
            if self.size > self.max_bytes:
                raise OutputTooLarge(self.max_bytes)
            parts.append(chunk)
        return "".join(parts)


def lint(subject: str, body: str, variables: dict[str, Any]) -> str | None:
    """None when the template renders against these variables, else the error (B7)."""
    try:
        render(subject, body, variables)
    except TemplateRenderError as exc:
        return str(exc)
    return None


def with_branding(body: str, enabled: bool) -> str:
    return f"{body.rstrip()}\n\n{BRANDING_LINE}\n" if enabled else body
