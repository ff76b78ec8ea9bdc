"""Name keys: spellings of one place meet on a key, different places do not."""

from __future__ import annotations

import pytest

from sitrep.resolution.names import fold, skeleton

MAARAT = ("Maarat al-Numan", "Maraat al Numan", "Ma'arrat al-Nu'man", "Ma‘arrat an Nu‘mān")


@pytest.mark.parametrize(
    ("name", "folded"),
    [
        ("Ma‘arrat an Nu‘mān", "maarrat an numan"),
        ("Ma'arrat al-Nu'man", "maarrat al numan"),
        ("Ma`arrat an Nu`man", "maarrat an numan"),
        ("Ḩamāh", "hamah"),
        ("  Deir ez-Zor ", "deir ez zor"),
        ("Tall Rif‘at", "tall rifat"),
        ("Şêx Meqsûd", "sex meqsud"),
        ("Diyarbakır", "diyarbakir"),
        ("İDLİB", "idlib"),
        ("HTS", "hts"),
        ("Russia’s Defence Ministry", "russias defence ministry"),
    ],
)
def test_fold_drops_case_diacritics_marks_and_punctuation(name: str, folded: str) -> None:
    assert fold(name) == folded


def test_fold_keeps_arabic_so_arabic_names_can_be_looked_up() -> None:
    assert fold("حلب") == "حلب"
    assert fold("معرة  النعمان") == "معره النعمان"


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("حماة", "حماه"),  # ta marbuta or ha
        ("إدلب", "ادلب"),  # hamza under the alif or not
        ("حَلَب", "حلب"),  # vowel marks or not
        ("مصطفى", "مصطفي"),  # alif maqsura or ya
        ("حـلـب", "حلب"),  # tatweel
    ],
)
def test_arabic_spellings_of_one_name_fold_alike(one: str, other: str) -> None:
    assert fold(one) == fold(other)


def test_different_arabic_names_fold_apart() -> None:
    assert fold("حلب") != fold("حمص")


@pytest.mark.parametrize("name", [*MAARAT, "Ḩamāh", "Diyarbakır", "حماة", "Łódź", "ʿAyn al ʿArab"])
def test_folding_twice_changes_nothing(name: str) -> None:
    assert fold(fold(name)) == fold(name)
    assert skeleton(fold(name)) == skeleton(name)


def test_transliterations_of_maarat_al_numan_share_a_skeleton() -> None:
    assert len({skeleton(name) for name in (*MAARAT, "Maarat al-Nouman")}) == 1


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("Tal Rifaat", "Tall Rif‘at"),
        ("Khan Sheikhoun", "Khan Shaykhun"),
        ("Hama", "Hamah"),  # the final -h after a vowel
        ("Jisr al-Shughur", "Jisr ash-Shughur"),  # articles, assimilated or not
        ("al-Bab", "Bab"),
        ("Idleb", "Idlib"),
    ],
)
def test_skeleton_joins_spellings_that_differ_in_vowels_articles_and_doubles(
    one: str, other: str
) -> None:
    assert fold(one) != fold(other)
    assert skeleton(one) == skeleton(other)


@pytest.mark.parametrize(
    ("one", "other"),
    [("Hama", "Homs"), ("Aleppo", "Idlib"), ("Manbij", "Saraqib"), ("Tal Rifaat", "Tal Abyad")],
)
def test_skeleton_keeps_different_places_apart(one: str, other: str) -> None:
    assert skeleton(one) != skeleton(other)


def test_skeleton_keeps_a_leading_vowel() -> None:
    """Without it, Idlib would meet every "Dlb" and Aleppo every "Lp"."""
    assert skeleton("Idlib") == "idlb"
    assert skeleton("Aleppo") == "alp"


def test_names_of_nothing_fold_to_nothing() -> None:
    assert fold(" -'‘ ") == ""
    assert skeleton("al-") == ""
