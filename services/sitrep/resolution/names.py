"""Comparing names across transliterations: "Maarat al-Numan" is "Ma‘arrat an Nu‘mān".

Keys derived from a name, from strict to loose. The *folded* key drops case, diacritics and
punctuation and is what aliases are matched on; it keeps the name's script. The *normal* key
also drops articles (al-, el-, the Arabic ال) and hamza variants and writes the name in Latin
letters (``anyascii``), so "Харків" meets "Kharkiv". The *skeleton* additionally drops vowels
and doubled letters, so transliterations that disagree on those still meet ("Wad Madani",
"ود مدني"). The looser keys are fallbacks, used only when the stricter ones find nothing.
"""

from __future__ import annotations

import re
import unicodedata

from anyascii import anyascii

# Apostrophes, ayn and hamza marks: transliterations use them inconsistently or not at all.
_MARKS = "'`´‘’ʻʼʽʾʿˈ′"
_MARK_TABLE = str.maketrans("", "", _MARKS)
# Letters Unicode does not decompose into a base letter and a mark (Turkish dotless i, Polish
# l...), and Arabic letters written either way (ta marbuta/ha, alif maqsura/ya, tatweel).
_LETTER_TABLE = str.maketrans(
    {
        "ı": "i",
        "ł": "l",
        "ø": "o",
        "đ": "d",
        "ħ": "h",
        "ŧ": "t",
        "ð": "d",
        "þ": "th",
        "æ": "ae",
        "œ": "oe",
        "ə": "e",
        "ة": "ه",
        "ى": "ي",
        "ـ": "",
    }
)
# Anything but a letter or digit, in any script: Arabic names fold to Arabic keys.
_NON_WORD = re.compile(r"[\W_]+")
# Articles and their assimilated forms (al-/el-/an-/ash-...) written as separate words.
_ARTICLE_WORDS = "al el il ul an en ar er as es ash esh at et ath ad ed adh az ez dh"
_ARTICLES = frozenset(_ARTICLE_WORDS.split())
# Arabic letters that fold leaves apart although reports use them interchangeably: alif wasla,
# a lone hamza (its seat letters lose theirs in NFKD), Persian ya and kaf, ha with hamza.
_ARABIC_TABLE = str.maketrans({"ٱ": "ا", "ء": "", "ی": "ي", "ک": "ك", "ۀ": "ه"})
_ARABIC_ARTICLE = "ال"
_NO_VOWELS = str.maketrans("", "", "aeiouy")
_DOUBLES = re.compile(r"(.)\1+")


def fold(name: str) -> str:
    """Lower case, no diacritics, no marks, words separated by one space."""
    if name.isascii():  # the common case, and the same result as below, only faster
        return _NON_WORD.sub(" ", name.translate(_MARK_TABLE).lower()).strip()
    decomposed = unicodedata.normalize("NFKD", name.translate(_MARK_TABLE))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _NON_WORD.sub(" ", bare.casefold().translate(_LETTER_TABLE)).strip()


def normal(name: str) -> str:
    """The folded name without articles or hamza variants, in Latin letters: "al-Raqqa" and
    "Raqqa" meet, and so do "Харків" and "Kharkiv"; an Arabic name becomes its consonants."""
    words = fold(name).translate(_ARABIC_TABLE).split()
    # The article glued to an Arabic word (الرقة); a two-letter word is left whole.
    words = [w[2:] if w.startswith(_ARABIC_ARTICLE) and len(w) > 3 else w for w in words]
    # An article precedes its noun: a last word that looks like one is not ("Hoi An").
    kept = [w for w in words[:-1] if w not in _ARTICLES] + words[-1:]
    return fold(anyascii(" ".join(kept)))


def loose(name: str) -> str:
    """The skeleton of the normal key: the loosest key, across scripts."""
    return skeleton(normal(name))


def name_keys(name: str) -> tuple[str, str, str]:
    """The folded, normal and skeleton keys of ``name``, strictest first."""
    folded = fold(name)
    normalised = normal(folded)
    return folded, normalised, skeleton(normalised)


def skeleton(name: str) -> str:
    """A looser key: articles, vowels, doubled letters and a final -h after a vowel dropped."""
    words = []
    for word in fold(name).split():
        if word in _ARTICLES:
            continue
        # "al" glued to the next word in some spellings (Alnuman) is left alone: too risky.
        if len(word) > 1 and word[-1] == "h" and word[-2] in "aeiou":
            word = word[:-1]
        stripped = _DOUBLES.sub(r"\1", word[1:].translate(_NO_VOWELS))
        if stripped[:1] == word[0]:  # the first letter doubled by the vowels gone (Aaqrab)
            stripped = stripped[1:]
        words.append(word[0] + stripped)
    return " ".join(words)
