"""Cheap, dependency-free text checks that run before any model: does a text hold words at all, and
which language is it most likely in. The shipped embedding model is English-only, so non-English text is
flagged rather than scored."""

from __future__ import annotations

import re

# Letters in runs; digits, punctuation and emoji are not words.
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
# Redaction placeholders ([URL], [EMAIL], ...) and the CFPB's XXXX masks carry no customer words.
_MASKS = re.compile(r"\[[A-Z]+\]|\bX{2,}\b")

# Non-Latin scripts decide the language on their own. Han characters count as Chinese unless the text
# also has kana (Japanese mixes both).
_KANA = re.compile(r"[\u3040-\u30ff]")
_SCRIPTS = (
    ("zh", re.compile(r"[\u4e00-\u9fff\u3040-\u30ff]")),
    ("ko", re.compile(r"[\u1100-\u11ff\uac00-\ud7af]")),
    ("ru", re.compile(r"[\u0400-\u04ff]")),
    ("ar", re.compile(r"[\u0600-\u06ff]")),
    ("he", re.compile(r"[\u0590-\u05ff]")),
    ("el", re.compile(r"[\u0370-\u03ff]")),
    ("hi", re.compile(r"[\u0900-\u097f]")),
    ("th", re.compile(r"[\u0e00-\u0e7f]")),
)
# Share of a text's letters in a non-Latin script above which the text is in that script's language.
SCRIPT_SHARE = 0.2

# Frequent function words per Latin-script language, without words that are also common in English
# (``a``, ``no``, ``me``, ``he``, ``as``, ``do``, ``was``, ``is``, ``die``, ...).
_FUNCTION_WORDS = {
    "en": "the and to of are were be been it this that you my your have has had not can could would will at "
    "from by with for on in please thanks thank they she his her them there what when why how which who "
    "all any just get got am i we our does did",
    "es": "el la los las del que y en un una por con para es está pero como más mi muy sin sobre este esta "
    "hola gracias cuando porque también ya yo tengo hay fue ser su sus al lo le se",
    "pt": "os da dos das não em um uma com para por que é mas muito meu minha você obrigado olá isso foi "
    "tem são",
    "fr": "le la les des du un une et est que qui dans pour pas sur avec ce cette sont mais je vous nous il "
    "elle au aux bonjour merci très",
    "de": "der das und ist nicht ein eine mit für auf den dem des zu ich sie wir bei wie auch hallo danke "
    "bitte oder aber sind wird kann",
    "it": "il lo gli di da che non per con sono è una uno del della questo grazie ciao ma ho anche più molto",
    "nl": "het een en van ik je niet dat op zijn met voor er maar dank bedankt hallo ook wel",
}
_WORD_SETS = {lang: frozenset(words.split()) for lang, words in _FUNCTION_WORDS.items()}
# Another language must show at least this many function words (and more than English) to win.
MIN_FOREIGN_HITS = 2

UNDETERMINED = "und"


def remove_masks(text: str) -> str:
    """The text without redaction placeholders and masks, which are not the customer's words."""
    return _MASKS.sub(" ", text)


def _words(text: str) -> list[str]:
    return _WORD.findall(remove_masks(text))


def has_words(text: str) -> bool:
    """False for text made only of emoji, digits, punctuation, redaction placeholders or masks."""
    return bool(_words(text))


def guess_language(text: str | None) -> str:
    """An ISO 639-1 code ('en', 'es', 'ja', ...) or 'und' when the text has no words.

    Non-Latin scripts are recognised by their characters; Latin-script text is English unless another
    language's function words clearly outnumber English ones, so short English text ("Good service")
    is never flagged as foreign for lack of evidence.
    """
    words = _words(text or "")
    if not words:
        return UNDETERMINED
    letters = sum(len(w) for w in words)
    joined = "".join(words)
    for lang, script in _SCRIPTS:
        if len(script.findall(joined)) >= SCRIPT_SHARE * letters:
            return "ja" if lang == "zh" and _KANA.search(joined) else lang
    lowered = [w.lower() for w in words]
    hits = {lang: sum(w in vocab for w in lowered) for lang, vocab in _WORD_SETS.items()}
    english = hits.pop("en")
    lang, best = max(hits.items(), key=lambda item: item[1])
    return lang if best >= MIN_FOREIGN_HITS and best > english else "en"


def is_english(language: str) -> bool:
    return language in ("en", UNDETERMINED)
