"""Reports from Ukraine and Sudan as scrapers publish them: a name and a country, in whichever
script the outlet writes, and no coordinates. The world gazetteer must bring each place's
spellings together, with the coordinates GeoNames gives it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sitrep.contract import Event, parse_event

KHERSON = ("Kherson", "Херсон", "Cherson")
"""Kherson in English, Ukrainian and German; GeoNames puts it at (46.64, 32.61)."""
WAD_MADANI = ("Wad Madani", "ود مدني", "Wad Medani")
"""Wad Madani in two transliterations and Arabic; GeoNames puts it at (14.40, 33.52)."""
KHARKIV = ("Kharkiv", "Харків")
WHERE = {"Kherson": (46.64, 32.61), "Wad Madani": (14.40, 33.52), "Kharkiv": (49.98, 36.25)}
"""Where each place is (lat, lon), to two decimals."""

UKRAINE_ARMY = "Armed Forces of Ukraine"
_OUTLETS = ("Reuters", "Ukrainska Pravda", "Al Jazeera")


def _event(
    event_id: str, kind: str, day: str, outlet: str, where: dict[str, str], data: Any
) -> Event:
    return parse_event(
        {
            "id": event_id,
            "type": kind,
            "occurred_at": day,
            "reported_at": f"{day}T18:00:00Z",
            "source": {"name": outlet, "kind": "news_agency"},
            "location": where,
            "data": data,
        }
    )


def _retaken(
    slug: str, names: Sequence[str], day: str, country: str, controller: str
) -> list[Event]:
    """Each outlet reports ``controller`` retaking a place, spelling it as ``names`` says."""
    return [
        _event(
            f"world-{slug}-{number}",
            "control.changed",
            day,
            outlet,
            {"name": name, "country": country},
            {"controller": controller, "method": "captured"},
        )
        for number, (name, outlet) in enumerate(zip(names, _OUTLETS, strict=True))
    ]


def kherson_retaken() -> list[Event]:
    """Three outlets report Ukraine retaking Kherson, each spelling it its own way."""
    return _retaken("kherson", KHERSON, "2022-11-11", "UA", UKRAINE_ARMY)


def wad_madani_retaken() -> list[Event]:
    """Three outlets report the Sudanese army retaking Wad Madani, each spelling it its own way."""
    return _retaken("wad-madani", WAD_MADANI, "2025-01-11", "SD", "Sudanese Armed Forces")


def kharkiv_strike() -> list[Event]:
    """One missile strike on Kharkiv, reported in English and in Ukrainian."""
    return [
        _event(
            f"world-kharkiv-strike-{number}",
            "strike.reported",
            "2024-05-25",
            outlet,
            {"name": name, "country": "UA"},
            {"perpetrator": "Russian armed forces", "means": "missile", "killed": 12},
        )
        for number, (name, outlet) in enumerate(zip(KHARKIV, _OUTLETS, strict=False))
    ]


def sudan_toll() -> Event:
    """A toll for the whole war, over nineteen months: it names no place (contract version 2)."""
    return parse_event(
        {
            "id": "world-sudan-civilians-toll",
            "type": "casualties.reported",
            "occurred_at": "2024-11-30",
            "reported_at": "2024-12-02T09:00:00Z",
            "source": {"name": "ACLED", "kind": "monitor"},
            "data": {
                "party": "civilians",
                "killed": {"low": 28700},
                "period_start": "2023-04-15",
                "period_end": "2024-11-30",
            },
        }
    )


def ukraine_army() -> Event:
    """The registry's entry for Ukraine's army: a misspelling of its name is warned of."""
    return parse_event(
        {
            "id": "world-actor-zsu",
            "type": "actor.described",
            "occurred_at": "2022-02-24",
            "reported_at": "2022-02-24T12:00:00Z",
            "source": {"name": "Sitrep desk", "kind": "monitor"},
            "data": {
                "name": UKRAINE_ARMY,
                "aliases": ["ZSU", "Ukrainian army"],
                "kind": "state_forces",
                "country": "UA",
            },
        }
    )


def world_events() -> list[Event]:
    """Every report of this module."""
    return [
        ukraine_army(),
        *kherson_retaken(),
        *wad_madani_retaken(),
        *kharkiv_strike(),
        sudan_toll(),
    ]
