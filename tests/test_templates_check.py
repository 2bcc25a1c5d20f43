"""The static check of templates (issue 18 item 1, SPEC B7): every name and attribute a template
uses, in every branch, against the variables the renderer offers; saving refuses unknown ones."""

from __future__ import annotations

import pytest

from automation import admin
from automation.admin.templates import EMPTY_VARIABLES, SAMPLE_VARIABLES
from automation.template_check import TEMPLATE_VARIABLES, check, check_template, known_variables
from tests.helpers import Desk, make_mail


def _messages(source: str) -> list[str]:
    return [str(problem) for problem in check(source)]


def test_a_typo_inside_a_branch_is_found_with_its_line_and_the_closest_name() -> None:
    body = 'Hello\n{% if ticket.priority == "high" %}{{ ownr.name }}{% endif %}'
    assert _messages(body) == ["line 2: unknown variable 'ownr' — did you mean 'owner'?"]


def test_unknown_attributes_filters_and_tests_are_errors() -> None:
    assert _messages("{{ ticket.numbr }}") == [
        "line 1: unknown variable 'ticket.numbr' — did you mean 'ticket.number'?"
    ]
    assert _messages("{{ contact['emial'] }}") == [
        "line 1: unknown variable 'contact.emial' — did you mean 'contact.email'?"
    ]
    assert _messages("{{ ticket.subject | uper }}") == [
        "line 1: unknown filter 'uper' — did you mean 'upper'?"
    ]
    assert _messages("{% if owner is nonee %}x{% endif %}") == [
        "line 1: unknown test 'nonee' — did you mean 'none'?"
    ]
    assert _messages("{{ zzz }}")[0].startswith("line 1: unknown variable 'zzz' (known: ")


def test_what_the_template_binds_itself_and_values_methods_are_fine() -> None:
    body = (
        "{% set greeting = 'Hi ' ~ contact.name %}{{ greeting.upper() }}\n"
        "{% for word in ticket.subject.split() %}{{ loop.index }} {{ word }}{% endfor %}\n"
        "{% macro sign(who) %}-- {{ who }}{% endmacro %}{{ sign(owner.name if owner else '') }}\n"
        "{{ ticket.created_at.strftime('%Y') }} {{ range(3) | join(',') }} {{ status.label }}"
    )
    assert check(body) == []


def test_syntax_errors_name_their_line() -> None:
    assert _messages("fine\n{% if %}") == [
        "line 2: Expected an expression, got 'end of statement block'"
    ]


def test_subject_problems_say_so() -> None:
    assert check_template("Re {{ tiket.subject }}", "ok") == [
        "subject, line 1: unknown variable 'tiket' — did you mean 'ticket'?"
    ]


def test_the_known_variables_are_what_the_renderer_offers() -> None:
    # the tree the check and the picker read = the variables send_email renders with
    def shape(tree: object) -> object:
        if isinstance(tree, dict):
            return {k: shape(v) for k, v in tree.items()}
        return None

    offered = {
        name: {f: {} if field.open else None for f, field in v.fields.items()}
        for name, v in TEMPLATE_VARIABLES.items()
    }
    assert shape(SAMPLE_VARIABLES) == offered
    assert shape({**EMPTY_VARIABLES, "owner": SAMPLE_VARIABLES["owner"]}) == offered
    names = [name for name, _ in known_variables()]
    assert "owner.name" in names and "ticket.created_at" in names
    assert all(description for _, description in known_variables())


async def test_the_real_variables_match_the_tree(db) -> None:
    desk = await Desk.create(db)
    raw, _ = make_mail()
    await desk.receive(raw)
    variables = await desk.admin(lambda repo, u: admin.preview_variables(repo, None))
    for name, variable in TEMPLATE_VARIABLES.items():
        assert set(variables[name] or {}) <= set(variable.fields), name
    assert set(variables) == set(TEMPLATE_VARIABLES)


async def test_saving_a_template_with_an_unknown_name_is_refused(db) -> None:
    desk = await Desk.create(db)
    body = '{% if ticket.priority == "high" %}{{ ownr.name }}{% endif %}'
    with pytest.raises(admin.SettingsError) as refused:
        await desk.admin(
            lambda repo, u: admin.set_template(repo, u, "VIP", subject="Hi", body=body)
        )
    assert str(refused.value) == (
        "template not saved: line 1: unknown variable 'ownr' — did you mean 'owner'?"
    )
    names = await desk.admin(lambda repo, u: [t.name for t in repo.templates()])
    assert "VIP" not in names
    fixed = body.replace("ownr", "owner")
    await desk.admin(lambda repo, u: admin.set_template(repo, u, "VIP", subject="Hi", body=fixed))
    assert "VIP" in await desk.admin(lambda repo, u: [t.name for t in repo.templates()])
