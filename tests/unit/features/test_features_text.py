"""Declared text columns: TF-IDF terms, keyword flags, contact patterns and amounts (issue 15).

Fitted on training rows, saved in ``feature_spec.json``, equal bit for bit on the DataFrame and
the records path; bounded vocabulary, unseen words, missing and hostile text.
"""

from __future__ import annotations

import json
import math
import time

import numpy as np
import pandas as pd
import pytest

from leadscore.data import DatasetSpec, drop_ground_truth, infer_schema, synth, validate
from leadscore.features import FeatureSpec, LeadFeatures
from leadscore.features.contract import MAX_TEXT_CHARS
from leadscore.features.text import TextTermsEncoder, amounts, fit_text_terms, has_phone, years

TEXTS = [
    "Ready to buy today, call me at (415) 555-0134.",
    "Just browsing for now.",
    "Need a quote: my budget is about $1,200 a month.",
    "Insured for 12 years, switching provider ASAP.",
    "ready ready ready to buy, email me at jo@example.com",
    "",
]


def _matrix(encoder: TextTermsEncoder, texts: list[str]) -> np.ndarray:
    return np.array([encoder.row(text) for text in texts])


def _column(encoder: TextTermsEncoder, matrix: np.ndarray, name: str) -> np.ndarray:
    return matrix[:, encoder.names().index(f"{encoder.field}__{name}")]


def test_vocabulary_is_bounded_by_max_features_and_leaves_out_stop_words_and_rare_words() -> None:
    texts = [f"the offer word{i % 40} common" for i in range(400)] + ["unique once"]
    encoder = fit_text_terms("note", texts, max_features=5, stop_words=frozenset({"the"}))
    assert len(encoder.vocabulary) == 5 and len(encoder.idf) == 5
    assert "the" not in encoder.vocabulary and "unique" not in encoder.vocabulary  # stop word; one document
    # words in (nearly) every text say nothing about one lead: left out
    assert "offer" not in encoder.vocabulary and "common" not in encoder.vocabulary
    assert len(encoder.names()) == 5 + len(encoder.keywords) + 4


def test_tfidf_is_sublinear_l2_normalised_and_ignores_unseen_words() -> None:
    encoder = fit_text_terms("note", TEXTS * 3, max_features=50)
    matrix = _matrix(encoder, TEXTS)
    terms = matrix[:, : len(encoder.vocabulary)]
    for row, text in zip(terms, TEXTS, strict=True):
        assert np.linalg.norm(row) == pytest.approx(1.0 if text else 0.0)
    ready = encoder.vocabulary.index("ready")
    buy = encoder.vocabulary.index("buy")
    # "ready" thrice, "buy" once: 1 + ln 3 times the idf, not 3 times
    ratio = (terms[4, ready] / encoder.idf[ready]) / (terms[4, buy] / encoder.idf[buy])
    assert ratio == pytest.approx(1 + math.log(3))
    unseen = encoder.row("zebra quantum xylophone")
    assert not any(unseen[: len(encoder.vocabulary)])


def test_keyword_flags_patterns_and_numbers() -> None:
    encoder = fit_text_terms("note", TEXTS * 3, max_features=50)
    matrix = _matrix(encoder, TEXTS)
    assert list(_column(encoder, matrix, "kw=urgent")) == [1, 0, 0, 1, 0, 0]
    assert list(_column(encoder, matrix, "kw=negative")) == [0, 1, 0, 0, 0, 0]
    assert list(_column(encoder, matrix, "kw=purchase")) == [1, 0, 0, 1, 1, 0]
    assert list(_column(encoder, matrix, "has_phone")) == [1, 0, 0, 0, 0, 0]
    assert list(_column(encoder, matrix, "has_email")) == [0, 0, 0, 0, 1, 0]
    amount, years_ = _column(encoder, matrix, "amount"), _column(encoder, matrix, "years")
    assert amount[2] == 1200 and np.isnan(amount[[0, 1, 3, 4, 5]]).all()
    assert years_[3] == 12 and np.isnan(years_[[0, 1, 2, 4, 5]]).all()
    assert amounts("45k usd or $300") == 45000 and years("10+ yrs") == 10
    assert not has_phone("on 2025-06-01") and has_phone("+44 20 7946 0958")


def test_numbers_are_capped_at_training_maximum_and_missing_when_training_saw_none() -> None:
    encoder = fit_text_terms("note", TEXTS, max_features=50)
    row = dict(zip(encoder.names(), encoder.row("budget $99,999,999,999 for 300 years"), strict=True))
    assert row["note__amount"] == 1200 and row["note__years"] == 12
    bare = fit_text_terms("note", ["no numbers here"] * 5, max_features=50)
    assert math.isnan(bare.row("$500 for 3 years")[-2]) and math.isnan(bare.row("$500 for 3 years")[-1])


def test_hostile_long_text_reads_only_the_first_max_text_chars() -> None:
    encoder = fit_text_terms("note", TEXTS * 3, max_features=50)
    head = "ready to buy call me " * (MAX_TEXT_CHARS // 21 + 1)
    hostile = head + "just browsing jo@example.com $9,000,000 " * 250_000  # about 10 MB
    began = time.monotonic()
    row = encoder.row(hostile)
    assert time.monotonic() - began < 2.0
    assert row == encoder.row(head[:MAX_TEXT_CHARS])
    # shapes that make unbounded patterns backtrack quadratically stay linear
    for shape in ("a" * 9999 + "@", "1," * 5000, "1" * 9999 + "x", "$" + "9" * 9999, "1-" * 5000, "a@" * 5000):
        began = time.monotonic()
        encoder.row(shape)
        assert time.monotonic() - began < 1.0, shape[:10]


@pytest.fixture(scope="module")
def fitted() -> LeadFeatures:
    frame = synth.generate("pc", 3000, seed=4)
    spec = DatasetSpec(target="converted", id_column="lead_id", time_column="created_at",
                       text_columns=[synth.TEXT_COLUMN], text_max_features=30)
    clean, schema = validate(frame, spec)
    return LeadFeatures(schema, text_max_features=30).fit(clean, clean["converted"])


def test_declared_text_gets_terms_inferred_text_only_its_length(fitted: LeadFeatures) -> None:
    names = list(fitted.feature_names_out_)
    assert sum(n.startswith("inquiry__tfidf=") for n in names) == 30
    assert "inquiry__has_phone" in names and "inquiry__chars" in names
    assert not any(n.startswith("notes__tfidf=") for n in names) and "notes__chars" in names
    assert {fitted.feature_origin_[n] for n in names if n.startswith("inquiry__")} == {"inquiry"}


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


def test_records_path_equals_dataframe_path_bit_for_bit(fitted: LeadFeatures) -> None:
    frame = drop_ground_truth(synth.generate("pc", 400, seed=5)).drop(columns=["converted"])
    rows = json.loads(frame.to_json(orient="records", date_format="iso"))
    odd = [None, "", "   ", 42, 3.5, True, "ÜBER günstig! call me +49 30 1234567", "x" * 20_000,
           "Ready ready READY to buy $5k", "\u00a0\t\n"]
    for index, value in enumerate(odd):
        rows[index][synth.TEXT_COLUMN] = value
    rows[len(odd)].pop(synth.TEXT_COLUMN)
    from_records = fitted.transform_records(rows)
    assert _same(from_records, fitted.transform(pd.DataFrame(rows)))
    reloaded = FeatureSpec.model_validate(json.loads(json.dumps(fitted.to_spec())))
    assert _same(reloaded.transform_records(rows), from_records)
    assert _same(fitted.transform_records(frame.to_dict("records")), fitted.transform(frame))


def test_missing_text_encodes_as_no_words_no_flags_no_numbers(fitted: LeadFeatures) -> None:
    names = list(fitted.feature_names_out_)
    row = dict(zip(names, fitted.transform_records([{"inquiry": None}])[0], strict=True))
    assert all(row[n] == 0 for n in names if n.startswith(("inquiry__tfidf=", "inquiry__kw=", "inquiry__has_")))
    assert math.isnan(row["inquiry__amount"]) and math.isnan(row["inquiry__years"])


def test_vocabulary_is_learnt_from_training_rows_only() -> None:
    train = pd.DataFrame({"inquiry": ["alpha beta"] * 10 + [None] * 5, "x": np.arange(15.0)})
    schema = infer_schema(train.assign(y=[0, 1] * 7 + [0]), DatasetSpec(target="y", text_columns=["inquiry"]))
    assert schema.column("inquiry").role == "text" and schema.column("inquiry").declared
    features = LeadFeatures(schema).fit(train)
    terms = next(e for e in features.spec_.encoders if isinstance(e, TextTermsEncoder))
    assert terms.vocabulary == ["alpha", "beta"]
    later = features.transform(pd.DataFrame({"inquiry": ["gamma gamma"], "x": [1.0]}))
    assert not later[0, features.feature_names_out_.tolist().index("inquiry__tfidf=alpha")]


def test_text_column_must_exist_and_not_be_target_or_another_type() -> None:
    from leadscore.errors import DatasetError

    frame = pd.DataFrame({"note": ["a b c"] * 200, "y": [0, 1] * 100})
    with pytest.raises(DatasetError, match="text column 'comments' is not in the dataset"):
        validate(frame, DatasetSpec(target="y", text_columns=["comments"]))
    with pytest.raises(ValueError, match="text column 'y' is the dataset's target"):
        DatasetSpec(target="y", text_columns=["y"])
    with pytest.raises(ValueError, match="text column 'note' is also declared categorical"):
        DatasetSpec(target="y", text_columns="note", types={"note": "categorical"})


def test_feature_spec_written_before_text_encoders_still_loads() -> None:
    """A version-1 spec as earlier releases wrote it (no text_terms encoder) loads and transforms."""
    old = {"version": 1, "id_field": "lead_id",
           "inputs": [{"name": "lead_id", "kind": "id", "required": True},
                      {"name": "pages", "kind": "numeric", "minimum": 0.0, "clip": [0.0, 40.0]},
                      {"name": "notes", "kind": "text"}],
           "encoders": [{"type": "numeric", "field": "pages", "missing_indicator": True},
                        {"type": "text", "field": "notes", "max_chars": 30.0, "max_words": 6.0}]}
    spec = FeatureSpec.model_validate(old)
    matrix = spec.transform_records([{"lead_id": 1, "pages": 50, "notes": "asap please call"}])
    assert matrix.tolist() == [[40.0, 0.0, 16.0, 3.0]]


def test_a_text_factor_names_what_in_the_text_moved_the_score_not_the_whole_text():
    """Explanation phrases for text features: the word, group, contact or number, never the text itself."""
    from leadscore.features.text import describe_term

    text = "Need a quote ASAP, budget $1,200. Insured 10 years. Call 555-010-1234"
    assert describe_term("inquiry__tfidf=quote", "inquiry", text) == 'inquiry mentions "quote"'
    assert describe_term("inquiry__tfidf=mistake", "inquiry", text) == 'inquiry does not mention "mistake"'
    assert describe_term("inquiry__kw=urgent", "inquiry", text) == "inquiry has urgent words"
    assert describe_term("inquiry__kw=negative", "inquiry", text) == "inquiry has no negative words"
    assert describe_term("inquiry__has_phone", "inquiry", text) == "inquiry gives a phone number"
    assert describe_term("inquiry__has_email", "inquiry", text) == "inquiry gives no e-mail address"
    assert describe_term("inquiry__amount", "inquiry", text) == "inquiry names an amount of 1200"
    assert describe_term("inquiry__years", "inquiry", text) == "inquiry names years: 10"
    assert describe_term("inquiry__years", "inquiry", "no numbers here") == "inquiry names no years"
    assert describe_term("pages_visited", "pages_visited", 3) is None
    assert describe_term("inquiry__tfidf=quote", "inquiry", None) is None
