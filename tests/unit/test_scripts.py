"""Which scripts a country writes in, and a place's names in them."""

from __future__ import annotations

from sitrep.resolution.scripts import country_scripts, local_names, written_in


def test_a_country_writes_in_the_scripts_of_its_official_languages() -> None:
    assert country_scripts("UA") == ("Cyrl",)
    assert set(country_scripts("IL")) == {"Hebr", "Arab"}
    assert "Arab" in country_scripts("SD")
    assert country_scripts("MM") == ("Mymr",)
    assert country_scripts("ZZ") == ()


def test_a_name_is_written_in_a_script_only_when_wholly_so() -> None:
    assert written_in("Херсон", "Cyrl")
    assert written_in("ود مدني", "Arab")
    assert written_in("北京", "Hans")
    assert not written_in("Харкiв", "Cyrl")  # a Latin i among Cyrillic letters
    assert not written_in("Kherson", "Cyrl")
    assert not written_in("1234", "Arab")  # no letter of its own


def test_local_names_are_ranked_by_how_they_read_and_kept_apart_by_spelling() -> None:
    found = local_names("Kharkiv", ["Charkow", "Харьков", "Харків", "Харків", "Kharkov"], "UA")
    assert found == ("Харків", "Харьков")
    # An Arab country's place is shown first by a spelling of Arabic, not Persian or Kurdish.
    assert local_names("Mosul", ["مووسڵ", "الموصل"], "IQ")[0] == "الموصل"
    assert local_names("Tehran", ["تهران"], "IR") == ("تهران",)
    # The country's first language's script first; a name without vowel points first.
    assert local_names("Haifa", ["حيفا", "חיפה"], "IL") == ("חיפה", "حيفا")
    assert local_names("Jerusalem", ["יְרוּשָׁלַיִם", "ירושלים"], "IL")[0] == "ירושלים"
    # Where the country writes in Latin letters, the name with its diacritics.
    assert local_names("Şanlıurfa", ["Urfa"], "TR") == ("Şanlıurfa",)
    assert local_names("Goma", ["Гома"], "CD") == ()
    assert local_names("Aleppo", ["حلب"], None) == ()
