"""Valid events of every type, coded from the seed article, for tests to start from."""

from __future__ import annotations

from copy import deepcopy
from typing import Any

AFP = {"name": "AFP", "url": "https://www.afp.com/en", "kind": "news_agency"}
ALEPPO = {"name": "Aleppo", "country": "SY", "admin1": "Aleppo", "kind": "city"}

BY_TYPE: dict[str, dict[str, Any]] = {
    "control.changed": {
        "id": "seed-aleppo-control",
        "type": "control.changed",
        "occurred_at": "2024-11-30",
        "reported_at": "2024-11-30T18:00:00Z",
        "source": AFP,
        "claimed_by": "Syrian Observatory for Human Rights",
        "location": {**ALEPPO, "lat": 36.2021, "lon": 37.1343},
        "data": {
            "controller": "Hayat Tahrir al-Sham",
            "previous_controller": "Syrian government",
            "method": "captured",
        },
    },
    "clash.reported": {
        "id": "seed-aleppo-clash",
        "type": "clash.reported",
        "occurred_at": "2024-11-29",
        "reported_at": "2024-11-30T18:00:00Z",
        "source": AFP,
        "location": ALEPPO,
        "data": {"parties": ["HTS", "Syrian Army"]},
    },
    "forces.withdrew": {
        "id": "seed-hama-withdrawal",
        "type": "forces.withdrew",
        "occurred_at": "2024-11-30",
        "reported_at": "2024-11-30T18:00:00Z",
        "source": AFP,
        "claimed_by": "Syrian Observatory for Human Rights",
        "location": {"name": "Hama", "country": "SY"},
        "data": {"actor": "Syrian Army"},
    },
    "strike.reported": {
        "id": "seed-russian-strikes",
        "type": "strike.reported",
        "occurred_at": "2024-11-30",
        "reported_at": "2024-11-30T18:00:00Z",
        "source": AFP,
        "claimed_by": "Russian Center for Reconciliation of the Opposing Parties in Syria",
        "location": {"name": "Aleppo", "country": "SY"},
        "data": {
            "perpetrator": "Russian Aerospace Forces",
            "means": "missile",
            "target": "gathering areas, controls and positions of the insurgents",
            "killed": {"low": 300},
        },
    },
    "casualties.reported": {
        "id": "seed-army-losses",
        "type": "casualties.reported",
        "occurred_at": "2024-11-30",
        "reported_at": "2024-11-30T18:00:00Z",
        "source": AFP,
        "claimed_by": "Syrian Observatory for Human Rights",
        "location": ALEPPO,
        "data": {"party": "Syrian Army", "killed": 100, "period_start": "2024-11-27"},
    },
    "statement.issued": {
        "id": "seed-assad-vow",
        "type": "statement.issued",
        "occurred_at": "2024-11-30",
        "reported_at": "2024-11-30T18:00:00Z",
        "source": AFP,
        "data": {
            "speaker": "Bashar al-Assad",
            "actor": "Syrian government",
            "text": "Vowed to defeat the terrorists, no matter how big their attacks.",
            "about": ["Hayat Tahrir al-Sham"],
            "stance": "condemn",
            "channel": "telephone call with the UAE president",
        },
    },
    "claim.denied": {
        "id": "seed-army-denies-hama",
        "type": "claim.denied",
        "occurred_at": "2024-11-30",
        "reported_at": "2024-11-30T18:00:00Z",
        "source": AFP,
        "data": {"event_id": "seed-hama-withdrawal", "denied_by": "Syrian Army"},
    },
    "event.retracted": {
        "id": "seed-retract-1",
        "type": "event.retracted",
        "occurred_at": "2024-12-01",
        "reported_at": "2024-12-01T09:00:00+02:00",
        "source": AFP,
        "data": {"event_id": "seed-aleppo-clash", "reason": "coded from the wrong paragraph"},
    },
    "actor.described": {
        "id": "seed-actor-hts",
        "type": "actor.described",
        "occurred_at": "2024-11-30",
        "reported_at": "2024-11-30T18:00:00Z",
        "source": AFP,
        "data": {
            "name": "Hayat Tahrir al-Sham",
            "aliases": ["HTS", "Nusra Front"],
            "kind": "rebel_group",
            "country": "SY",
            "designations": [{"by": "United States", "as": "terrorist group"}],
        },
    },
}


def example(event_type: str, **changes: Any) -> dict[str, Any]:
    """A fresh copy of the valid example of ``event_type``, with top-level fields changed."""
    event = deepcopy(BY_TYPE[event_type])
    event.update(changes)
    return event


def with_data(event_type: str, **changes: Any) -> dict[str, Any]:
    """A fresh copy of the example with fields of ``data`` changed (None removes one)."""
    event = example(event_type)
    for key, value in changes.items():
        if value is None:
            event["data"].pop(key, None)
        else:
            event["data"][key] = value
    return event


def retraction(event_id: str, target: str) -> dict[str, Any]:
    """A desk's retraction ``event_id`` of the event ``target``, as published."""
    return {
        "id": event_id,
        "type": "event.retracted",
        "occurred_at": "2024-12-02",
        "reported_at": "2024-12-02T12:00:00Z",
        "source": {"name": "Sitrep desk", "kind": "monitor"},
        "data": {"event_id": target, "reason": "The report was mistaken."},
    }
