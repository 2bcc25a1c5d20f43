"""`deskline property define|list|remove|set`: custom ticket properties (issue 13, SPEC D21)."""

from __future__ import annotations

import argparse

from app.cli import output
from app.cli.errors import EXIT_USAGE, UserError
from app.cli.shared import act, opened
from automation import properties, property_types


def register(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser(
        "property",
        help="custom ticket properties: define, list, remove (admins), set on a ticket",
        description="Properties admins define for tickets: text, number, date, choice or "
        "checkbox; a required one must be set before a person closes a ticket. Search them "
        "with prop:NAME=VALUE; templates read {{ ticket.properties.NAME }}.",
    )
    psub = group.add_subparsers(dest="property_command", metavar="COMMAND", required=True)

    p = psub.add_parser("define", help="define a property (admins)")
    p.add_argument("name", metavar="NAME", help="letters, digits and _, starting with a letter")
    p.add_argument(
        "kind",
        choices=property_types.kinds(),
        metavar="TYPE",
        help="text, number, date, choice or checkbox",
    )
    p.add_argument(
        "--choice",
        action="append",
        default=[],
        metavar="VALUE",
        help="one of a choice property's values (repeat it)",
    )
    p.add_argument(
        "--required", action="store_true", help="a person cannot close a ticket without it"
    )
    p.set_defaults(func=cmd_define)

    p = psub.add_parser("list", help="the properties defined")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)

    p = psub.add_parser("remove", help="remove a property and every ticket's value (admins)")
    p.add_argument("name", metavar="NAME")
    p.set_defaults(func=cmd_remove)

    p = psub.add_parser("set", help="set a ticket's property (no VALUE with --clear)")
    p.add_argument("ticket", type=int, metavar="N")
    p.add_argument("name", metavar="NAME")
    p.add_argument("value", nargs="?", metavar="VALUE")
    p.add_argument("--clear", action="store_true", help="remove the ticket's value")
    p.set_defaults(func=cmd_set)


async def cmd_define(args: argparse.Namespace) -> int:
    prop = await act(
        args,
        lambda repo, user: properties.define_property(
            repo, user, args.name, args.kind, choices=args.choice, required=args.required
        ),
    )
    print(f"Property {prop.name} defined: {output.clean(properties.describe(prop))}")
    return 0


async def cmd_list(args: argparse.Namespace) -> int:
    async with opened(args) as desk:
        found = await desk.db.read(
            lambda repo: [
                {
                    "name": p.name,
                    "type": p.kind,
                    "choices": list(p.choices),
                    "required": p.required_to_close,
                    "said": properties.describe(p),
                }
                for p in repo.property_defs()
            ]
        )
    if args.json:
        rows = [{k: v for k, v in row.items() if k != "said"} for row in found]
        output.dump({"version": output.JSON_VERSION, "properties": rows})
        return 0
    if not found:
        print("No properties defined.")
    for row in found:
        print(f"{output.clean(row['name']):<24} {output.clean(row['said'])}")
    return 0


async def cmd_remove(args: argparse.Namespace) -> int:
    had = await act(args, lambda repo, user: properties.remove_property(repo, user, args.name))
    print(f"Property {output.clean(args.name.strip().casefold())} removed ({had} tickets had it)")
    return 0


async def cmd_set(args: argparse.Namespace) -> int:
    if args.clear == (args.value is not None):
        raise UserError("property set: give a VALUE, or --clear (not both)", EXIT_USAGE)
    value = None if args.clear else args.value
    stored = await act(
        args, lambda repo, user: properties.set_property(repo, user, args.ticket, args.name, value)
    )
    name = output.clean(args.name.strip().casefold())
    if stored is None:
        print(f"Ticket #{args.ticket}: {name} cleared")
    else:
        print(f"Ticket #{args.ticket}: {name} = {output.clean(stored)}")
    return 0
