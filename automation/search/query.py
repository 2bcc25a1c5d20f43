"""The search query language (SPEC D19), read into a `SearchQuery`; errors say what is wrong.

    refund "credit card" invoice*      words (all of them), a phrase, a prefix
    refund OR return -spam             either word; no conversation with "spam"
    from:alice to:billing subject:"late order"
    status:"Waiting on contact" owner:me channel:support pipeline:Support tag:vip
    is:open is:closed is:unassigned is:snoozed ticket:open ticket:closed has:attachment
    prop:region=EMEA prop:seats=3          a custom property's value (as the desk spells it)
    after:2026-11-01 before:7d         UTC days of the sent time; 7d = seven days ago

Words are matched in one message (a conversation is a hit when one of its messages has them
all); a `-` word excludes a conversation when any of its messages has it. `OR` (capitals) joins
the two items beside it. Everything else, FTS operators and punctuation included, is text.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from automation.search.tokens import words

MAX_QUERY = 1024
TEXT_FIELDS = ("subject", "from", "to")
VALUES = {
    "is": ("open", "closed", "unassigned", "snoozed"),
    "ticket": ("open", "closed"),
    "has": ("attachment",),
}
NAMED = ("status", "owner", "channel", "pipeline", "tag", "prop")  # checked against the desk
DATES = ("before", "after")
FILTERS = (*TEXT_FIELDS, *VALUES, *NAMED, *DATES)
_RELATIVE = re.compile(r"^(\d{1,4})([hdwm])$")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


class QueryError(ValueError):
    """A query that cannot be read; the message says what is wrong, in one line."""


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]  # one word, or the words of a phrase in order
    field: str | None = None  # None: anywhere; else one of TEXT_FIELDS
    prefix: bool = False  # the last word is a prefix


@dataclass(frozen=True)
class Filter:
    name: str
    value: str
    negated: bool = False


@dataclass(frozen=True)
class SearchQuery:
    groups: tuple[tuple[Term, ...], ...] = ()  # all groups; one term of each (OR inside)
    excluded: tuple[Term, ...] = ()
    filters: tuple[Filter, ...] = ()
    text: str = ""

    @property
    def empty(self) -> bool:
        return not (self.groups or self.excluded or self.filters)


@dataclass
class _Item:
    negated: bool
    term: Term | None = None
    filter: Filter | None = None


@dataclass
class _Reader:
    text: str
    pos: int = 0
    items: list[_Item | str] = field(default_factory=list)  # "OR" between items


def parse(text: str) -> SearchQuery:
    """Read a query; raises QueryError for one that cannot be read."""
    if len(text) > MAX_QUERY:
        raise QueryError(f"the search is {len(text)} characters long; at most {MAX_QUERY}")
    cleaned = "".join(" " if ord(ch) < 32 or ord(ch) == 127 else ch for ch in text)
    reader = _Reader(cleaned)
    while (lexeme := _next(reader)) is not None:
        reader.items.append(lexeme)
    return _combine(reader.items, text.strip())


def date_bound(name: str, value: str, now: datetime) -> datetime:
    """The instant a before:/after: value stands for: a UTC day (after: from its start, before:
    up to its start) or a span back from now (7d, 12h, 2w)."""
    relative = _RELATIVE.match(value.strip().lower())
    if relative:
        count, unit = int(relative.group(1)), relative.group(2)
        span = timedelta(days=30 * count) if unit == "m" else _UNITS[unit] * count
        return now - span
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise QueryError(
            f"{name}:{value} is not a date: write it as 2026-11-30, or 12h, 7d, 2w, 3m ago"
        ) from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


# --- reading ---------------------------------------------------------------------------------


def _next(reader: _Reader) -> _Item | str | None:
    text = reader.text
    while reader.pos < len(text) and text[reader.pos].isspace():
        reader.pos += 1
    if reader.pos >= len(text):
        return None
    negated = text[reader.pos] == "-" and reader.pos + 1 < len(text)
    if negated:
        reader.pos += 1
    if text[reader.pos] == '"':
        return _Item(negated, term=_phrase(reader, None))
    start = reader.pos
    while reader.pos < len(text) and not text[reader.pos].isspace() and text[reader.pos] != '"':
        reader.pos += 1
    bare = text[start : reader.pos]
    if bare == "OR" and not negated:
        return "OR"
    key, colon, value = bare.partition(":")
    if colon and key.lower() in FILTERS:
        return _filter(reader, key.lower(), value, negated)
    if colon and (close := _close_filter(key)):
        raise QueryError(f"there is no {key}: filter; did you mean {close}:?")
    return _Item(negated, term=_word(bare))


def _phrase(reader: _Reader, field_name: str | None) -> Term | None:
    text = reader.text
    end = text.find('"', reader.pos + 1)
    if end < 0:
        raise QueryError('a quote (") is not closed')
    inside = text[reader.pos + 1 : end]
    reader.pos = end + 1
    prefix = reader.pos < len(text) and text[reader.pos] == "*"
    if prefix:
        reader.pos += 1
    found = tuple(words(inside))
    return Term(found, field_name, prefix) if found else None


def _word(bare: str, field_name: str | None = None) -> Term | None:
    found = tuple(words(bare))
    if not found:
        return None  # punctuation only: nothing to match
    return Term(found, field_name, bare.rstrip().endswith("*") and len(found) >= 1)


def _filter(reader: _Reader, name: str, value: str, negated: bool) -> _Item:
    if not value and reader.pos < len(reader.text) and reader.text[reader.pos] == '"':
        if name in TEXT_FIELDS:
            return _Item(negated, term=_phrase(reader, name))
        end = reader.text.find('"', reader.pos + 1)
        if end < 0:
            raise QueryError('a quote (") is not closed')
        value = reader.text[reader.pos + 1 : end]
        reader.pos = end + 1
    if not value.strip():
        raise QueryError(f"{name}: needs a value, e.g. {_example(name)}")
    if name in TEXT_FIELDS:
        return _Item(negated, term=_word(value, name))
    if name in VALUES and value.lower() not in VALUES[name]:
        known = ", ".join(f"{name}:{v}" for v in VALUES[name])
        raise QueryError(f"{name}:{value} is not known; use {known}")
    if name in DATES:
        date_bound(name, value, datetime.now(UTC))  # checked now, resolved when run
    if name == "prop" and not prop_value(value)[0]:
        raise QueryError(f"prop:{value} is not a property test; write it as {_example(name)}")
    return _Item(negated, filter=Filter(name, value.strip(), negated))


def _combine(items: list[_Item | str], text: str) -> SearchQuery:
    groups: list[list[Term]] = []
    excluded: list[Term] = []
    filters: list[Filter] = []
    joining = False
    for index, item in enumerate(items):
        if item == "OR":
            if not groups or joining or index == len(items) - 1:
                raise QueryError("OR goes between two words, as in: refund OR return")
            joining = True
            continue
        assert isinstance(item, _Item)
        if item.filter is not None:
            if joining:
                raise QueryError("OR joins words, not filters such as " + item.filter.name + ":")
            filters.append(item.filter)
        elif item.term is not None and item.negated:
            if joining:
                raise QueryError("OR joins words; a word with - cannot be one of them")
            excluded.append(item.term)
        elif item.term is not None:
            if joining:
                groups[-1].append(item.term)
            else:
                groups.append([item.term])
        joining = False
    return SearchQuery(tuple(tuple(g) for g in groups), tuple(excluded), tuple(filters), text)


def _close_filter(key: str) -> str | None:
    if not key.isalpha() or len(key) < 2:
        return None
    close = difflib.get_close_matches(key.lower(), FILTERS, n=1, cutoff=0.75)
    return close[0] if close else None


def _example(name: str) -> str:
    examples = {
        "from": "from:alice@example.com",
        "to": "to:billing",
        "subject": 'subject:"late order"',
        "status": 'status:"Waiting on contact"',
        "owner": "owner:me",
        "channel": "channel:support",
        "pipeline": "pipeline:Support",
        "tag": "tag:vip",
        "prop": "prop:region=EMEA",
        "before": "before:2026-11-30",
        "after": "after:7d",
    }
    return examples.get(name, f"{name}:{VALUES.get(name, ('…',))[0]}")


def prop_value(value: str) -> tuple[str, str]:
    """A prop: filter's property name and value ("region=EMEA"); ("", "") when it has none."""
    name, equals, wanted = value.partition("=")
    if not equals or not name.strip() or not wanted.strip():
        return "", ""
    return name.strip(), wanted.strip()


def highlight_pattern(text: str) -> str | None:
    """A regular expression for the words a search looks for (not its `-` words or filter
    values other than from/to/subject), to mark them where a message is shown; None: none."""
    try:
        query = parse(text)
    except QueryError:
        return None
    found: list[str] = []
    for group in query.groups:
        for term in group:
            last = len(term.words) - 1
            found += [
                re.escape(word) + ("" if term.prefix and i == last else r"\b")
                for i, word in enumerate(term.words)
            ]
    if not found:
        return None
    return r"(?i)\b(?:" + "|".join(sorted(set(found), key=len, reverse=True)) + ")"
