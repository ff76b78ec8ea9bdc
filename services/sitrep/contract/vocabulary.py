"""The closed vocabularies of the event contract."""

from __future__ import annotations

from typing import Literal, get_args

EventType = Literal[
    "control.changed",
    "clash.reported",
    "forces.withdrew",
    "strike.reported",
    "casualties.reported",
    "statement.issued",
    "claim.denied",
    "event.retracted",
    "actor.described",
]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)

SourceKind = Literal[
    "news_agency",
    "newspaper",
    "broadcaster",
    "monitor",
    "government",
    "military",
    "armed_group",
    "ngo",
    "social_media",
    "other",
]
PlaceKind = Literal[
    "city", "town", "village", "neighbourhood", "airport", "base", "facility", "region", "other"
]
ControlMethod = Literal["captured", "retaken", "handed_over", "withdrawal", "baseline", "unknown"]
StrikeMeans = Literal["air", "drone", "missile", "artillery", "rocket", "unknown"]
Stance = Literal[
    "support", "oppose", "condemn", "concern", "call_for_deescalation", "deny", "neutral"
]
ActorKind = Literal[
    "state_forces",
    "government",
    "rebel_group",
    "militia",
    "external_forces",
    "international_org",
    "monitor",
    "media",
    "person",
    "other",
]

# ISO 3166-1 alpha-2: the officially assigned codes, plus XK (Kosovo), which the UN and most
# humanitarian datasets use although it is user-assigned.
_ISO_3166_ALPHA_2 = """
AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM
DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS
GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN
KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ
MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM
PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV
SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI
VN VU WF WS YE YT ZA ZM ZW XK
"""
COUNTRY_CODES: frozenset[str] = frozenset(_ISO_3166_ALPHA_2.split())
