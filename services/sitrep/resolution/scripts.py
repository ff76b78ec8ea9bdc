"""The names a place has in its own country's writing: Херсон beside Kherson, حلب beside Aleppo.

A country's scripts come from CLDR through Babel: its official (and de facto official)
languages, each with the script CLDR says it is most likely written in. GeoNames' ``cities500``
gives a place's alternate names without their language, so a place's local names are those
written wholly in one of its country's scripts; where the country writes in Latin letters,
the local name is GeoNames' own spelling with its diacritics (Şanlıurfa beside Sanliurfa).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache

import regex
from babel import Locale, UnknownLocaleError
from babel.core import get_global, parse_locale
from babel.languages import get_official_languages
from rapidfuzz.distance import JaroWinkler

from sitrep.resolution.names import normal

LOCAL_NAMES_SHOWN = 3
"""A place's local names shown at most: Ukrainian and Russian Cyrillic spellings of one town
are both local, a dozen transliterations are not."""

_WRITTEN_IN = {
    # ISO 15924 codes for ways of writing that combine Unicode scripts.
    "Hans": ("Han",),
    "Hant": ("Han",),
    "Jpan": ("Han", "Hiragana", "Katakana"),
    "Kore": ("Hangul", "Han"),
}


@cache
def country_scripts(country: str) -> tuple[str, ...]:
    """The ISO 15924 codes of the scripts ``country`` (ISO 3166 alpha-2) officially writes
    in, its first official language's first; empty for a code CLDR does not know."""
    likely: Mapping[str, str] = get_global("likely_subtags")
    scripts: dict[str, None] = {}
    for language in get_official_languages(country.upper(), de_facto=True):
        try:
            script = parse_locale(likely.get(language, language))[2]
        except ValueError:
            continue
        if script:
            scripts[script] = None
    return tuple(scripts)


@cache
def _pattern(script: str) -> regex.Pattern[str]:
    names = _WRITTEN_IN.get(script, (script,))
    letters = "".join(rf"\p{{Script={name}}}" for name in names)
    # Wholly in the script: its letters, and marks, digits, spaces and punctuation any
    # script uses; at least one letter of its own.
    return regex.compile(rf"(?=.*[{letters}])[{letters}\p{{Script=Common}}\p{{Script=Inherited}}]+")


def written_in(name: str, script: str) -> bool:
    """Whether ``name`` is written in ``script`` (ISO 15924: ``Cyrl``, ``Arab``, ``Hans``)."""
    try:
        return _pattern(script).fullmatch(name) is not None
    except regex.error:  # a script code Unicode has no property for
        return False


def local_names(name: str, names: Iterable[str], country: str | None) -> tuple[str, ...]:
    """The names, among GeoNames' ``name`` and its alternate ``names``, that a place of
    ``country`` is called by in the country's own scripts: at most LOCAL_NAMES_SHOWN, one per
    spelling.

    GeoNames does not say which of them is current, so: the best of each script comes first,
    in the order of the country's languages (Hebrew, then Arabic, in Israel); then the rest.
    Of one script, a name written without vowel marks comes before a vocalised one, and those
    that read most like ``name`` first (Jaro-Winkler on the normal keys: Бахмут before
    Артемівськ for Bakhmut, חיפה before חפה for Haifa); a longer form of one already taken is
    left out (an inflection, as Херсонскую beside Херсон, or a suffix, as "… city"), in one
    script.
    """
    if not country:
        return ()
    scripts = country_scripts(country)
    # GeoNames' own spelling, with the diacritics the display name drops.
    latin = [name] if "Latn" in scripts and not name.isascii() else []
    own = [s for s in scripts if s != "Latn"]
    target = normal(name)
    arabic = "ar" in get_official_languages(country.upper(), de_facto=True)
    best: dict[str, tuple[tuple[bool, bool, float], str, int]] = {}
    for candidate in names:
        script = next((i for i, s in enumerate(own) if written_in(candidate, s)), None)
        if script is None:
            continue
        spelled = normal(candidate)
        score = (
            not _MARKS.search(candidate),
            arabic and _arabic_language(candidate),
            JaroWinkler.similarity(spelled, target),
        )
        key = spelled.replace(" ", "")
        if key and (key not in best or score > best[key][0]):
            best[key] = (score, candidate, script)
    ranked = sorted(best, key=lambda k: best[k][0], reverse=True)
    firsts = [next((k for k in ranked if best[k][2] == i), None) for i in range(len(own))]
    taken: list[str] = []
    for key in [*(k for k in firsts if k is not None), *ranked]:
        if len(latin) + len(taken) >= LOCAL_NAMES_SHOWN:
            break
        script = best[key][2]
        if key not in taken and not any(
            best[t][2] == script and (key.startswith(t) or t.startswith(key)) for t in taken
        ):
            taken.append(key)
    return (*latin, *(best[key][1] for key in taken))


_MARKS = regex.compile(r"\p{Mn}")
"""Vowel points and other marks over letters (Hebrew niqqud, Arabic harakat)."""


def country_local_names(country: str) -> tuple[str, ...]:
    """What ``country`` calls itself in its official languages, as CLDR spells it
    (Україна, سوريا, မြန်မာ), its English name left out."""
    names: dict[str, None] = {}
    for language in get_official_languages(country.upper(), de_facto=True):
        if language.split("_")[0] == "en":
            continue
        try:
            called = Locale.parse(language).territories.get(country.upper())
        except (ValueError, UnknownLocaleError):
            continue
        if called:
            names[called] = None
    return tuple(names)[:LOCAL_NAMES_SHOWN]


_OTHER_LANGUAGES_LETTERS = regex.compile(r"[\u0671-\u06FF]")
"""Letters of the Arabic script that Arabic itself does not write (Persian ی and گ, Kurdish ە,
Urdu ے...): GeoNames gives an Arabic-script name without its language, and a place in a
country that writes Arabic is first shown by its Arabic name."""


def _arabic_language(name: str) -> bool:
    return not _OTHER_LANGUAGES_LETTERS.search(name)
