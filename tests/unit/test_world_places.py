"""The world gazetteer: places in six conflicts, found by every spelling, in every script.

Uses the world index in the cache directory (``make unit`` and ``make test`` build it first;
otherwise the first test here builds it, once per machine).
"""

from __future__ import annotations

import pytest

from sitrep.contract.values import Location
from sitrep.resolution.geonames import build_gazetteer
from sitrep.resolution.places import Gazetteer
from tests.seeded import SEEDS

# Each place: the spellings reports use (Latin, native script, another transliteration, a
# former name), its country, and where it is (lat, lon).
CONFLICTS = {
    "aleppo": (("Aleppo", "حلب", "Halab", "Ḩalab"), "SY", 36.20, 37.16),
    "raqqa": (("Raqqa", "الرقة", "Ar Raqqah", "Al-Raqqa"), "SY", 35.95, 39.01),
    "kherson": (("Kherson", "Херсон", "خيرسون", "Cherson"), "UA", 46.64, 32.61),
    "kharkiv": (("Kharkiv", "Харків", "Kharkov", "Харьков"), "UA", 49.98, 36.25),
    "izium": (("Izium", "Ізюм", "Izyum", "Izjum"), "UA", 49.21, 37.28),
    "bakhmut": (("Bakhmut", "Бахмут", "Artemivsk", "Артемівськ"), "UA", 48.59, 38.00),
    "wad_madani": (("Wad Madani", "ود مدني", "Wad Medani", "Вад Медани"), "SD", 14.40, 33.52),
    "el_fasher": (("El Fasher", "الفاشر", "Al Fashir", "al-Fashir"), "SD", 13.63, 25.35),
    "yangon": (("Yangon", "ရန်ကုန်", "Rangoon", "Янгон"), "MM", 16.81, 96.16),
    "mandalay": (("Mandalay", "မန္တလေး", "Мандалай"), "MM", 21.97, 96.08),
    "sittwe": (("Sittwe", "Akyab"), "MM", 20.15, 92.90),
    "kisangani": (("Kisangani", "Stanleyville", "Кисангани"), "CD", 0.52, 25.19),
    "lubumbashi": (("Lubumbashi", "Élisabethville", "Elisabethville"), "CD", -11.66, 27.48),
    "hodeidah": (("Hodeidah", "الحديدة", "Al Hudaydah", "Hudaydah"), "YE", 14.80, 42.95),
    "marib": (("Marib", "مأرب", "Ma'rib", "مارب"), "YE", 15.46, 45.33),
    "taiz": (("Taiz", "تعز", "Ta'izz", "Таиз"), "YE", 13.58, 44.02),
}


def here(name: str, **fields: object) -> Location:
    return Location.model_validate({"name": name, **fields})


@pytest.fixture(scope="module")
def world() -> Gazetteer:
    return build_gazetteer(SEEDS)


@pytest.mark.parametrize("key", sorted(CONFLICTS))
@pytest.mark.parametrize("with_country", [True, False])
def test_every_spelling_of_a_place_in_a_conflict_finds_it_with_its_coordinates(
    world: Gazetteer, key: str, with_country: bool
) -> None:
    spellings, country, lat, lon = CONFLICTS[key]
    asked = country if with_country else None
    found = {name: world.resolve(here(name, country=asked)) for name in spellings}
    assert len({place.id for place in found.values()}) == 1, found
    place = found[spellings[0]]
    assert place.resolved
    assert place.country == country
    assert (place.lat, place.lon) == (pytest.approx(lat, abs=0.05), pytest.approx(lon, abs=0.05))


@pytest.mark.parametrize("key", sorted(CONFLICTS))
def test_a_spelling_near_the_reported_coordinates_is_the_same_place(
    world: Gazetteer, key: str
) -> None:
    spellings, country, lat, lon = CONFLICTS[key]
    alone = world.resolve(here(spellings[0], country=country))
    for name in spellings:
        assert world.resolve(here(name, lat=lat + 0.03, lon=lon - 0.03)).id == alone.id


def test_two_reports_in_two_scripts_name_one_place(world: Gazetteer) -> None:
    assert world.resolve(here("Херсон")) == world.resolve(here("Kherson", country="UA"))
    assert world.resolve(here("ود مدني")) == world.resolve(here("Wad Madani", country="SD"))


def test_a_namesake_is_told_apart_by_country_and_by_coordinates(world: Gazetteer) -> None:
    """Tripoli is Libya's capital and a Lebanese city (and a Greek and an American town)."""
    assert world.resolve(here("Tripoli")).country == "LY"  # the most populous, unhinted
    assert world.resolve(here("Tripoli", country="LB")).country == "LB"
    assert world.resolve(here("Tripoli", lat=34.43, lon=35.84)).country == "LB"
    assert world.resolve(here("Goma")).country == "CD"
    assert world.resolve(here("Goma", country="PH")).country == "PH"


def test_a_choice_among_namesakes_names_the_others_and_how_it_was_made(
    world: Gazetteer,
) -> None:
    unhinted = world.choose(here("Tripoli"))
    assert unhinted.place == world.resolve(here("Tripoli"))
    assert unhinted.by == "ranked"
    assert {"LB", "GR"} <= {p.country for p in unhinted.others}
    assert unhinted.place not in unhinted.others
    # Two villages called Mykolaivka 24 km apart in Sumy oblast: the nearer, the other beside.
    nearest = world.choose(here("Mykolaivka", lat=50.95, lon=34.37))
    assert (nearest.place.id, nearest.by) == ("gn:687064", "nearest")
    assert [p.id for p in nearest.others] == ["gn:700099"]
    alone = world.choose(here("Tripoli", lat=34.43, lon=35.84))
    assert (alone.place.country, alone.by, alone.others) == ("LB", None, ())
    assert world.choose(here("Tripoli", country="LB")).others == ()
    assert world.choose(here("Nowhere Junction", country="UA")).by is None


def test_a_place_is_shown_by_its_common_english_name_with_its_local_names_beside(
    world: Gazetteer,
) -> None:
    tartus = world.resolve(here("Tartus"))
    assert (tartus.name, tartus.id) == ("Tartus", world.resolve(here("طرطوس")).id)
    assert "Ţarţūs" in tartus.alternate_names  # GeoNames' own spelling, beside it
    assert world.resolve(here("Şanlıurfa")).name == "Sanliurfa"
    # Kobani is known to GeoNames by its Arabic name; the seeds say what English reports say.
    for name in ("Kobani", "Kobanê", "‘Ayn al ‘Arab", "عين العرب"):
        kobani = world.resolve(here(name, country="SY"))
        assert (kobani.name, kobani.lat) == ("Kobani", pytest.approx(36.89, abs=0.05))
    assert "عين العرب" in kobani.alternate_names
    # Another script than Latin is never written over: a name is only stripped of its marks.
    assert world.resolve(here("Kyiv")).name == "Kyiv"


# A place, and the name it is first shown beside in its country's own script.
LOCAL_FIRST = {
    ("Aleppo", "SY"): "حلب",
    ("Damascus", "SY"): "دمشق",
    ("Kherson", "UA"): "Херсон",
    ("Bakhmut", "UA"): "Бахмут",
    ("Wad Madani", "SD"): "ود مدني",
    ("El Fasher", "SD"): "الفاشر",
    ("Yangon", "MM"): "ရန်ကုန်",
    ("Sanaa", "YE"): "صنعاء",
    ("Tehran", "IR"): "تهران",
    ("Haifa", "IL"): "חיפה",  # Hebrew, the first language, before Arabic
    ("Sanliurfa", "TR"): "Şanlıurfa",
    ("Ukraine", None): "Україна",
    ("Syria", None): "سوريا",
}


@pytest.mark.parametrize(("asked", "local"), sorted(LOCAL_FIRST.items()))
def test_a_place_lists_its_local_names_first_the_one_that_reads_like_its_name(
    world: Gazetteer, asked: tuple[str, str | None], local: str
) -> None:
    name, country = asked
    place = world.resolve(here(name, country=country))
    assert place.local_names[0] == local, place.local_names
    assert len(place.local_names) <= 3


def test_local_names_include_former_ones_but_no_inflections(world: Gazetteer) -> None:
    bakhmut = world.resolve(here("Bakhmut", country="UA"))
    assert {"Артемівськ", "Артемовск"} & set(bakhmut.local_names)
    kherson = world.resolve(here("Kherson", country="UA"))
    assert not any(n.startswith("Херсонск") for n in kherson.local_names)
    # Unvocalised Hebrew before vocalised; both scripts of Israel.
    jerusalem = world.resolve(here("Jerusalem", country="IL")).local_names
    assert "ירושלים" in jerusalem
    assert not any("\u0591" <= c <= "\u05c7" for c in jerusalem[0])
    assert any("\u0600" <= c <= "\u06ff" for n in jerusalem for c in n)
    # A country that writes in Latin letters shows no other names than GeoNames' own.
    assert world.resolve(here("Goma", country="CD")).local_names == ()


def test_within_a_country_the_place_called_so_now_wins_over_one_called_so_once(
    world: Gazetteer,
) -> None:
    """Engels (Saratov) was Pokrovsk until 1931; Pokrovsk in Yakutia is called so now."""
    in_ukraine = world.resolve(here("Pokrovsk", country="UA"))
    assert (in_ukraine.country, in_ukraine.admin1) == ("UA", None)
    assert in_ukraine.lat == pytest.approx(48.28, abs=0.05)
    in_russia = world.resolve(here("Pokrovsk", country="RU"))
    assert in_russia.name == "Pokrovsk"
    assert in_russia.lat == pytest.approx(61.48, abs=0.1)
    assert world.resolve(here("Pokrovsk", lat=48.3, lon=37.2)).id == in_ukraine.id


def test_a_country_by_any_of_its_names_is_the_country(world: Gazetteer) -> None:
    for name in ("Ukraine", "Україна", "Украина"):
        assert world.resolve(here(name)).id == "cc:UA"
    for name in ("Sudan", "السودان"):
        assert world.resolve(here(name)).id == "cc:SD"
    assert world.resolve(here("Yemen")).id == "cc:YE"


def test_a_region_is_found_by_its_name_or_when_a_region_is_asked_for(world: Gazetteer) -> None:
    assert world.resolve(here("Kherson Oblast")).id == "iso:UA-65"
    assert world.resolve(here("Херсонська область")).id == "iso:UA-65"
    assert world.resolve(here("Gezira State", country="SD")).id == "iso:SD-GZ"
    assert world.resolve(here("Gezira", country="SD", kind="region")).id == "iso:SD-GZ"
    city = world.resolve(here("Kherson", country="UA"))
    assert city.kind == "city"
    assert world.resolve(here("Herson", country="UA", kind="region")).id == "iso:UA-65"


def test_a_syrian_region_takes_the_governorate_name_the_seeds_use(world: Gazetteer) -> None:
    region = world.resolve(here("Hama Governorate", country="SY", kind="region"))
    assert (region.kind, region.admin1) == ("region", "Hama")
    assert world.resolve(here("Hama", country="SY")).id == "sy-hama"  # the city, a seed


def test_countries_narrow_the_world_when_asked(world: Gazetteer) -> None:
    ukraine = build_gazetteer(SEEDS, ["UA"])
    assert ukraine.resolve(here("Kherson")).id == world.resolve(here("Kherson")).id
    assert ukraine.resolve(here("Wad Madani")).origin == "unresolved"
    assert len(ukraine) < len(world)


def test_codes_and_unknown_names_stay_unresolved_across_the_world(world: Gazetteer) -> None:
    assert world.resolve(here("KHE", country="UA")).origin == "unresolved"
    unknown = world.resolve(here("Nowhere Junction", country="UA"))
    assert (unknown.origin, unknown.id) == ("unresolved", "ua/nowhere-junction")
