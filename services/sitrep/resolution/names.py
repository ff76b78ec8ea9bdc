"""Comparing names across transliterations: "Maarat al-Numan" is "Ma‘arrat an Nu‘mān".

Two keys are derived from a name. The *folded* key drops case, diacritics and punctuation
and is what aliases are matched on. The *skeleton* additionally drops Arabic articles,
vowels and doubled letters, so transliterations that disagree on those still meet; it is a
fallback, used only when the folded key finds nothing.
"""

from __future__ import annotations

import re
import unicodedata

# Apostrophes, ayn and hamza marks: transliterations use them inconsistently or not at all.
_MARKS = "'`´‘’ʻʼʽʾʿˈ′"
_MARK_TABLE = str.maketrans("", "", _MARKS)
_NON_WORD = re.compile(r"[^a-z0-9]+")
# Articles and their assimilated forms (al-/el-/an-/ash-...) written as separate words.
_ARTICLE_WORDS = "al el il ul an en ar er as es ash esh at et ath ad ed adh az ez dh"
_ARTICLES = frozenset(_ARTICLE_WORDS.split())
_VOWELS = re.compile(r"[aeiouy]")
_DOUBLES = re.compile(r"(.)\1+")


def fold(name: str) -> str:
    """Lower case, no diacritics, no marks, words separated by one space."""
    decomposed = unicodedata.normalize("NFKD", name.translate(_MARK_TABLE))
    ascii_only = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NON_WORD.sub(" ", ascii_only.casefold()).strip()


def skeleton(name: str) -> str:
    """A looser key: articles, vowels, doubled letters and a final -h after a vowel dropped."""
    words = []
    for word in fold(name).split():
        if word in _ARTICLES:
            continue
        # "al" glued to the next word in some spellings (Alnuman) is left alone: too risky.
        word = re.sub(r"([aeiou])h$", r"\1", word)
        stripped = _DOUBLES.sub(r"\1", _VOWELS.sub("", word[1:]))
        words.append(_DOUBLES.sub(r"\1", word[0] + stripped))
    return " ".join(words)
