"""The static check of a template (SPEC B7, D10): every name, attribute, filter and test it uses,
read from Jinja's syntax tree, against the variables the renderer offers.

One render only tries the branches the ticket at hand takes; this reads them all, so a typo inside
`{% if ticket.priority == "high" %}` is an error on save, not a silent failure at send. Names the
template binds itself (`{% set %}`, `{% for %}`, macros and their arguments) are its own.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from jinja2 import TemplateSyntaxError, nodes

from automation.templates import environment


@dataclass(frozen=True)
class Variable:
    """A variable a template may name: what it is, and its fields (none for a plain value)."""

    description: str
    kind: type | None = None  # a plain value's type: its methods may be used (`.upper()`)
    fields: Mapping[str, Variable] = field(default_factory=dict)
    open: bool = False  # its fields are the desk's own (custom properties): any name passes


def _text(description: str) -> Variable:
    return Variable(description, str)


# What `automation.action_kinds.send_email.template_variables` offers (a test keeps them equal).
TEMPLATE_VARIABLES: Mapping[str, Variable] = {
    "ticket": Variable(
        "the ticket",
        fields={
            "number": Variable("its number, as in [#42]", int),
            "subject": _text("its subject"),
            "priority": _text("low, normal, high or urgent"),
            "source": _text("where it came from: email, form, chat…"),
            "created_at": Variable("when it was opened (a date and time)", datetime),
            "tags": Variable("its tags, a list of words (`{{ ticket.tags | join(', ') }}`)", list),
            "properties": Variable(
                "its custom properties by name: `ticket.properties.NAME` (none when unset)",
                open=True,
            ),
        },
    ),
    "contact": Variable(
        "the customer the ticket is for",
        fields={"name": _text("their name (may be empty)"), "email": _text("their address")},
    ),
    "owner": Variable(
        "the rep who owns the ticket (none when unassigned: test `{% if owner %}`)",
        fields={"name": _text("the owner's name"), "email": _text("the owner's address")},
    ),
    "pipeline": Variable("the ticket's pipeline", fields={"name": _text("its name")}),
    "status": Variable(
        "the ticket's status",
        fields={"label": _text("its label, e.g. Closed"), "state": _text("OPEN or CLOSED")},
    ),
    "channel": Variable(
        "the channel the ticket came in on",
        fields={"name": _text("its name"), "address": _text("its email address")},
    ),
}

# Jinja's own names inside loops, macros and call blocks.
_JINJA_NAMES = frozenset({"loop", "caller", "varargs", "kwargs", "self", "super"})


@dataclass(frozen=True, order=True)
class Problem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


def known_variables(
    variables: Mapping[str, Variable] = TEMPLATE_VARIABLES,
) -> list[tuple[str, str]]:
    """Every variable by its dotted name, with what it is (the editor's picker)."""

    def walk(prefix: str, tree: Mapping[str, Variable]) -> Iterator[tuple[str, str]]:
        for name, variable in tree.items():
            dotted = f"{prefix}{name}"
            yield dotted, variable.description
            yield from walk(f"{dotted}.", variable.fields)

    return list(walk("", variables))


def check(source: str, variables: Mapping[str, Variable] = TEMPLATE_VARIABLES) -> list[Problem]:
    """The problems of one template text, by line; none for a template that only names what
    the renderer offers."""
    try:
        tree = environment().parse(source)
    except TemplateSyntaxError as exc:
        return [Problem(exc.lineno or 1, exc.message or "syntax error")]
    return sorted(set(_Checker(variables, _bound_names(tree)).problems(tree)))


def check_template(
    subject: str, body: str, variables: Mapping[str, Variable] = TEMPLATE_VARIABLES
) -> list[str]:
    """The problems of a template's subject and body, one line each ("subject, line 1: …")."""
    found = [f"subject, {problem}" for problem in check(subject, variables)]
    return found + [str(problem) for problem in check(body, variables)]


def _bound_names(tree: nodes.Template) -> frozenset[str]:
    """Names the template binds itself, wherever: set, for, with, macros and their arguments."""
    bound = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    bound.update(macro.name for macro in tree.find_all(nodes.Macro))
    return frozenset(bound)


class _Checker:
    def __init__(self, variables: Mapping[str, Variable], bound: frozenset[str]) -> None:
        env = environment()
        self.variables = variables
        self.bound = bound
        self.globals = frozenset(env.globals) | _JINJA_NAMES
        self.filters = frozenset(env.filters)
        self.tests = frozenset(env.tests)

    def problems(self, node: nodes.Node) -> Iterator[Problem]:
        if isinstance(node, nodes.Getattr | nodes.Getitem) and (path := _path(node)):
            yield from self._path_problems(node.lineno, *path)
            return
        if isinstance(node, nodes.Name) and node.ctx == "load":
            yield from self._name_problems(node.lineno, node.name)
        elif isinstance(node, nodes.Filter) and node.name not in self.filters:
            yield self._unknown(node.lineno, "filter", node.name, self.filters)
        elif isinstance(node, nodes.Test) and node.name not in self.tests:
            yield self._unknown(node.lineno, "test", node.name, self.tests)
        for child in node.iter_child_nodes():
            yield from self.problems(child)

    def _name_problems(self, line: int, name: str) -> Iterator[Problem]:
        if name in self.variables or name in self.bound or name in self.globals:
            return
        yield self._unknown(line, "variable", name, [*self.variables, *self.bound])

    def _path_problems(self, line: int, root: str, attributes: list[str]) -> Iterator[Problem]:
        if root in self.bound or root in self.globals:
            return  # the template's own value: its fields are its business
        if root not in self.variables:
            yield from self._name_problems(line, root)
            return
        variable, dotted = self.variables[root], root
        for attribute in attributes:
            if variable.open:
                return  # a name the desk defines (the lint's renders check it)
            if attribute in variable.fields:
                variable, dotted = variable.fields[attribute], f"{dotted}.{attribute}"
                continue
            if _is_method(variable, attribute):
                return
            known = [f"{dotted}.{name}" for name in variable.fields]
            yield self._unknown(line, "variable", f"{dotted}.{attribute}", known)
            return

    @staticmethod
    def _unknown(line: int, what: str, name: str, known: object) -> Problem:
        candidates = sorted(set(known))  # type: ignore[call-overload]
        close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
        if close:
            return Problem(line, f"unknown {what} '{name}' — did you mean '{close[0]}'?")
        if what == "variable" and candidates:
            return Problem(line, f"unknown {what} '{name}' (known: {', '.join(candidates)})")
        return Problem(line, f"unknown {what} '{name}'")


def _path(node: nodes.Node) -> tuple[str, list[str]] | None:
    """`ticket.owner.name` or `ticket["owner"]` as ("ticket", ["owner", "name"]); None when the
    chain does not start at a plain name or takes a computed key."""
    attributes: list[str] = []
    while isinstance(node, nodes.Getattr | nodes.Getitem):
        if isinstance(node, nodes.Getattr):
            attributes.append(node.attr)
        elif isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            attributes.append(node.arg.value)
        else:
            return None
        node = node.node
    if isinstance(node, nodes.Name) and node.ctx == "load":
        return node.name, attributes[::-1]
    return None


def _is_method(variable: Variable, attribute: str) -> bool:
    """A plain value's methods (`ticket.subject.upper()`), or a group's (`ticket.items()`)."""
    if attribute.startswith("_"):
        return False
    kind = variable.kind if variable.kind is not None else dict
    return hasattr(kind, attribute)
