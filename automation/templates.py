"""Email templates: Jinja2 in a sandbox, undefined variables are errors (SPEC R-A9, B7)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

BRANDING_LINE = "—\nSent by Deskline, the help desk in your terminal."

# The two built-in templates (R-A2). They are seeded into the database and editable there.
BUILTIN_TEMPLATES = {
    "Ticket received": ("ticket_received.subject.j2", "ticket_received.body.j2"),
    "Ticket closed": ("ticket_closed.subject.j2", "ticket_closed.body.j2"),
}

_env = ImmutableSandboxedEnvironment(
    undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False
)


class TemplateRenderError(Exception):
    """A template that cannot be rendered; the message says why in one line."""


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


def render(subject: str, body: str, variables: dict[str, Any]) -> Rendered:
    try:
        rendered_subject = _compiled(subject).render(variables)
        rendered_body = _compiled(body).render(variables)
    except TemplateError as exc:
        raise TemplateRenderError(f"{type(exc).__name__}: {exc}") from exc
    except Exception as exc:  # the sandbox raises SecurityError and friends; never crash the engine
        raise TemplateRenderError(f"{type(exc).__name__}: {exc}") from exc
    return Rendered(" ".join(rendered_subject.split()), rendered_body.strip() + "\n")


def lint(subject: str, body: str, variables: dict[str, Any]) -> str | None:
    """None when the template renders against these variables, else the error (B7)."""
    try:
        render(subject, body, variables)
    except TemplateRenderError as exc:
        return str(exc)
    return None


def with_branding(body: str, enabled: bool) -> str:
    return f"{body.rstrip()}\n\n{BRANDING_LINE}\n" if enabled else body
