"""Where an automated email's template is rendered: outside the write transaction (SPEC D10).

The engine handles an event in a transaction. When a "send email" action of that event needs a
render nobody has done yet, the action raises `RenderNeeded` instead of rendering: the event's
savepoint rolls back (nothing of it is kept), the engine commits the events before it, renders the
template in a worker process from the snapshot of variables the action read (within the budget,
no transaction open), and handles the event again; this time the action finds its render done.
So events still run in order and once, and a slow template never holds the write lock.

Callers that cannot step out of their transaction (a command's own changes, the import's inline
fast path, a person's retry) render at once, still in a worker process within the same budget.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from automation.render_worker import Budget, render_within
from automation.templates import RENDER_MAX_BYTES, RENDER_SECONDS, Rendered, TemplateRenderError

SECONDS_SETTING = "template_render_seconds"
MAX_BYTES_SETTING = "template_render_max_bytes"
_KEPT = 32  # renders kept for the events that asked for them

_deferring: ContextVar[bool] = ContextVar("deskline_deferring_renders", default=False)
_done: OrderedDict[tuple[Any, ...], Rendered | str] = OrderedDict()
_lock = threading.Lock()


class RenderNeeded(Exception):
    """An action needs this render before it can go on: the engine does it outside the
    transaction and handles the event again."""

    def __init__(self, subject: str, body: str, variables: dict[str, Any], budget: Budget) -> None:
        super().__init__("a template render is needed")
        self.subject, self.body, self.variables, self.budget = subject, body, variables, budget


def budget_of(setting: Any) -> Budget:
    """The budget from the desk's settings (`repo.setting`), D10's defaults otherwise."""
    return Budget(
        float(setting(SECONDS_SETTING, RENDER_SECONDS)),
        int(setting(MAX_BYTES_SETTING, RENDER_MAX_BYTES)),
    )


@contextmanager
def deferring() -> Iterator[None]:
    """Inside: an action needing a new render raises RenderNeeded (the engine's transactions)."""
    token = _deferring.set(True)
    try:
        yield
    finally:
        _deferring.reset(token)


def is_deferring() -> bool:
    return _deferring.get()


def render_for_action(
    subject: str, body: str, variables: dict[str, Any], budget: Budget
) -> Rendered:
    """The render an action sends: done outside the transaction when the engine can, else now."""
    key = _key(subject, body, variables, budget)
    with _lock:
        found = _done.get(key)
    if found is None and _deferring.get():
        raise RenderNeeded(subject, body, variables, budget)
    if found is None:
        return render_within(subject, body, variables, budget)
    if isinstance(found, str):
        raise TemplateRenderError(found)
    return found


def render_outside(need: RenderNeeded) -> None:
    """Do the render an action asked for (no transaction open) and keep its outcome."""
    outcome: Rendered | str
    try:
        outcome = render_within(need.subject, need.body, need.variables, need.budget)
    except TemplateRenderError as exc:
        outcome = str(exc)
    key = _key(need.subject, need.body, need.variables, need.budget)
    with _lock:
        _done[key] = outcome
        _done.move_to_end(key)
        while len(_done) > _KEPT:
            _done.popitem(last=False)


def _key(subject: str, body: str, variables: dict[str, Any], budget: Budget) -> tuple[Any, ...]:
    return (subject, body, repr(variables), budget)
