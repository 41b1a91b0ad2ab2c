"""What a declared free-text field says, as numbers: TF-IDF terms, keyword flags, contacts, amounts.

Seed 001's text features, fitted on training rows and saved in ``feature_spec.json``:

- TF-IDF over a bounded vocabulary (the ``max_features`` most frequent words of the training
  texts, English stop words left out), sublinear term frequency ``1 + ln(tf)``, smoothed idf
  ``ln((1 + n) / (1 + df)) + 1`` and an L2-normalised row, as scikit-learn's ``TfidfVectorizer``
  would give; words outside the vocabulary are ignored;
- keyword flags per intent group (urgency, price, purchase, call-back, negative);
- whether the text holds an e-mail address or a phone number;
- the largest money amount and the largest number of years the text mentions, capped at the
  largest seen in training (NaN when the text has none, or training texts never had one).

Both paths, a DataFrame column at training and one record at serving, run ``TextTermsEncoder.row``
on each text, so they give bit-identical features. Only the first ``MAX_TEXT_CHARS`` characters are
read: a hostile 10 MB note costs what a 10 kB one does.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Literal

import numpy as np
from pydantic import BaseModel, Field

from leadscore.features.contract import MAX_TEXT_CHARS

if TYPE_CHECKING:
    from leadscore.features.spec import Parsed, Row

TOKEN = re.compile(r"\b\w\w+\b")
"""Words of two or more letters or digits (scikit-learn's default token pattern)."""
# Every repetition that can restart at each position is bounded, so a hostile text costs linear time.
EMAIL = re.compile(r"[\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+")
PHONE = re.compile(r"(?<![\w.$€£])\+?\(?\d[\d ().-]{5,18}\d(?!\w)(?!\.\d)")
ISO_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")
MONEY = re.compile(r"[$€£]\s?(\d[\d,]{0,20}(?:\.\d{1,6})?)\s?([km])?\b"
                   r"|\b(\d[\d,]{0,20}(?:\.\d{1,6})?)\s?([km])?\s?(?:usd|eur|gbp|dollars?|euros?)\b")
YEARS = re.compile(r"\b(\d{1,3}(?:\.\d)?)\s?\+?\s?(?:years?|yrs?)\b")
PHONE_DIGITS = 7
"""A phone number has at least this many digits (dates and amounts have fewer or other shapes)."""
MIN_DOCUMENTS = 3
"""A word enters the vocabulary only when at least this many training texts use it."""
MAX_DOCUMENT_SHARE = 0.95
"""Words in more than this share of the training texts say nothing about one lead; left out."""
KEYWORDS: dict[str, list[str]] = {
    "urgent": ["asap", "urgent", "urgently", "immediately", "today", "right away", "this week"],
    "price": ["price", "pricing", "cost", "quote", "budget", "cheap", "cheaper", "discount", "afford"],
    "purchase": ["buy", "purchase", "sign up", "enroll", "ready to", "switch", "switching"],
    "callback": ["call me", "call back", "callback", "reach me", "contact me"],
    "negative": ["not interested", "unsubscribe", "spam", "wrong number", "just browsing", "just curious",
                 "no longer", "too expensive"],
}
"""Default intent groups (lead vocabulary, not seed 001's job-ad groups); saved with each encoder."""
_SCALE = {"k": 1e3, "m": 1e6}
TERM, KEYWORD = "__tfidf=", "__kw="
TAIL = ("has_email", "has_phone", "amount", "years")
"""Output column names: ``<field>__tfidf=<word>``, ``<field>__kw=<group>``, ``<field>__<tail>``."""


def words(text: str) -> list[str]:
    """Lower-case tokens of the readable part of ``text``."""
    return TOKEN.findall(text[:MAX_TEXT_CHARS].lower())


def _largest(values: Iterable[float]) -> float:
    return max(values, default=math.nan)


def amounts(text: str) -> float:
    """The largest money amount in ``text`` ("$1,200", "45k usd", "300 euros"), NaN when none."""
    def value(match: re.Match[str]) -> float:
        number, scale = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
        return float(number.replace(",", "")) * _SCALE.get(scale or "", 1.0)
    return _largest(value(m) for m in MONEY.finditer(text))


def years(text: str) -> float:
    """The largest number of years in ``text`` ("5 years", "10+ yrs"), NaN when none."""
    return _largest(float(m.group(1)) for m in YEARS.finditer(text))


def has_phone(text: str) -> bool:
    """At least ``PHONE_DIGITS`` digits with phone punctuation ("+1 (555) 010-1234"), not a date."""
    return any(sum(c.isdigit() for c in m.group()) >= PHONE_DIGITS and not ISO_DATE.fullmatch(m.group().strip())
               for m in PHONE.finditer(text))


def describe_term(feature: str, field: str, text: object) -> str | None:
    """A phrase for one text feature of a lead (``mentions "quote"``), None for other features:
    an explanation factor names what in the text moved the score, not the whole text twice."""
    if not feature.startswith(f"{field}__") or not isinstance(text, str):
        return None
    part = feature[len(field):]
    lowered = text[:MAX_TEXT_CHARS].lower()
    if part.startswith(TERM):
        word = part[len(TERM):]
        return f'{field} {"mentions" if word in words(text) else "does not mention"} "{word}"'
    if part.startswith(KEYWORD):
        group = part[len(KEYWORD):]
        return f"{field} {'has' if group in matched_groups(lowered) else 'has no'} {group} words"
    found = {"__has_email": EMAIL.search(lowered) is not None, "__has_phone": has_phone(lowered)}
    if part in found:
        what = "e-mail address" if part == "__has_email" else "phone number"
        article = "an" if part == "__has_email" else "a"
        return f"{field} gives {article if found[part] else 'no'} {what}"
    number = {"__amount": amounts(lowered), "__years": years(lowered)}.get(part)
    if number is None:
        return None
    unit = "an amount of" if part == "__amount" else "years:"
    return f"{field} names no {part[2:]}" if math.isnan(number) else f"{field} names {unit} {number:g}"


def matched_groups(lowered: str) -> set[str]:
    """The default keyword groups a lower-cased text hits (the rule ``TextTermsEncoder.row`` applies)."""
    joined = f" {' '.join(TOKEN.findall(lowered))} "
    return {group for group, phrases in KEYWORDS.items() if any(f" {p} " in joined for p in phrases)}


def _capped(value: float, cap: float | None) -> float:
    """At most ``cap``; NaN when training saw no such number (the column carried nothing there)."""
    if cap is None:
        return math.nan
    return cap if value > cap else value


class TextTermsEncoder(BaseModel):
    """A declared text field's TF-IDF terms, keyword flags, contacts and amounts (module docstring)."""

    type: Literal["text_terms"] = "text_terms"
    field: str
    vocabulary: list[str] = Field(description="Words with a TF-IDF column, in column order.")
    idf: list[float] = Field(description="Smoothed inverse document frequency per vocabulary word.")
    keywords: dict[str, list[str]] = Field(description="Keyword group -> words or phrases that flag it.")
    max_amount: float | None = Field(None, description="Largest money amount in training texts (the cap).")
    max_years: float | None = Field(None, description="Largest number of years in training texts (the cap).")

    @cached_property
    def _index(self) -> dict[str, int]:
        return {word: i for i, word in enumerate(self.vocabulary)}

    def names(self) -> list[str]:
        terms = [f"{self.field}{TERM}{word}" for word in self.vocabulary]
        flags = [f"{self.field}{KEYWORD}{group}" for group in self.keywords]
        return terms + flags + [f"{self.field}__{name}" for name in TAIL]

    def row(self, text: str) -> list[float]:
        """The features of one text (the one function both paths run)."""
        text = text[:MAX_TEXT_CHARS].lower()
        tokens = TOKEN.findall(text)
        counts = Counter(i for i in map(self._index.get, tokens) if i is not None)
        found = sorted(counts)  # a fixed summation order: the same norm on every path
        raw = [(1.0 + math.log(counts[index])) * self.idf[index] for index in found]
        norm = math.sqrt(sum(w * w for w in raw))
        weights = [0.0] * len(self.vocabulary)
        for index, weight in zip(found, raw, strict=True):
            weights[index] = weight / norm
        joined = f" {' '.join(tokens)} "
        flags = [float(any(f" {word} " in joined for word in group)) for group in self.keywords.values()]
        contacts = [float(EMAIL.search(text) is not None), float(has_phone(text))]
        numbers = [_capped(amounts(text), self.max_amount), _capped(years(text), self.max_years)]
        return weights + flags + contacts + numbers

    def encode(self, parsed: Parsed) -> list[np.ndarray]:
        texts: list[str] = parsed[self.field]
        block = np.array([self.row(text) for text in texts], dtype=np.float64).reshape(parsed.n, len(self.names()))
        return list(block.T)

    def encode_row(self, row: Row, out: list[float]) -> None:
        out.extend(self.row(row[self.field]))


def fit_text_terms(field: str, texts: Sequence[str], max_features: int,
                   stop_words: frozenset[str] = frozenset()) -> TextTermsEncoder:
    """The encoder for ``field`` learnt from training texts (missing texts are empty strings)."""
    documents = Counter(word for text in texts for word in set(words(text)) if word not in stop_words)
    n = len(texts)
    eligible = [(word, df) for word, df in documents.items()
                if df >= MIN_DOCUMENTS and df <= MAX_DOCUMENT_SHARE * n]
    chosen = sorted(eligible, key=lambda item: (-item[1], item[0]))[:max_features]
    lowered = [text[:MAX_TEXT_CHARS].lower() for text in texts]
    found_amounts = [a for a in map(amounts, lowered) if a == a]
    found_years = [y for y in map(years, lowered) if y == y]
    return TextTermsEncoder(
        field=field,
        vocabulary=[word for word, _ in chosen],
        idf=[math.log((1 + n) / (1 + df)) + 1.0 for _, df in chosen],
        keywords=KEYWORDS,
        max_amount=max(found_amounts) if found_amounts else None,
        max_years=max(found_years) if found_years else None,
    )
