"""Who writes in to the demo desk: customers with names and addresses from a fixed list."""

from __future__ import annotations

import random
from dataclasses import dataclass


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# The order of every list is part of the demo's story: a seed picks by position.
FIRST_NAMES = _words(
    "Ana Ben Chloé Dmitri Emma Farid Grace Hiro Ines Jonas Kemal Lena Marco Nadia Oscar Priya "
    "Quentin Rosa Samir Tanja Umar Vera Wei Ximena Yusuf Zofia Aiko Bruno Carmen Diego Elif "
    "Felix Greta Hugo Ivana Jamal Kofi Lucía Mei Nils"
)
LAST_NAMES = _words(
    "Kowalska Okafor Martin Volkov Johansson Haddad Lee Tanaka García Becker Yilmaz Schneider "
    "Rossi Ahmed Larsen Patel Dubois Silva Nasser Horvat Khan Moreau Chen Torres Demir Nowak "
    "Sato Costa Romero Alvarez Aydin Weber Lindqvist Fontaine Petrović Mensah Boateng "
    "Ortega"
)
COMPANIES = (
    "northwind.example",
    "acme-logistics.example",
    "bluefin-studio.example",
    "greenleaf.example",
    "kestrel-labs.example",
    "harbor-dental.example",
    "polaris-legal.example",
    "tinybakery.example",
    "oakridge-school.example",
    "vertex-analytics.example",
    "lumen-architects.example",
    "riverside-clinic.example",
    "copperpot.example",
    "fjord-travel.example",
    "sable-media.example",
)
PERSONAL = ("mail.example", "post.example", "inbox.example")


@dataclass(frozen=True)
class Person:
    name: str
    addr: str

    @property
    def first(self) -> str:
        return self.name.split()[0]

    @property
    def header(self) -> str:
        return f"{self.name} <{self.addr}>"

    @property
    def domain(self) -> str:
        return self.addr.split("@")[1]


def make_person(rng: random.Random) -> Person:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    local = _ascii(first.lower())
    style = rng.random()
    if style < 0.3:
        return Person(f"{first} {last}", f"{local}.{_ascii(last.lower())}@{rng.choice(PERSONAL)}")
    if style < 0.6:
        return Person(f"{first} {last}", f"{local}@{rng.choice(COMPANIES)}")
    return Person(f"{first} {last}", f"{local[0]}{_ascii(last.lower())}@{rng.choice(COMPANIES)}")


def _ascii(text: str) -> str:
    table = str.maketrans("éíóúćçñš", "eioucens")
    return "".join(c for c in text.translate(table) if c.isascii() and c.isalnum())
