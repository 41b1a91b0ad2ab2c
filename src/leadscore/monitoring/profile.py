"""The reference profile: how the raw inputs and the score were distributed at training.

Measured on the held-out test rows (never seen by the search, calibration or ensemble), with
the feature pipeline's own parsers, so a value is binned the same way whether it came from a
training file or a served JSON request. Per field:

- numbers: up to ``NUMERIC_BINS`` quantile bins (interior edges at the deciles; ties merge
  bins) and a quantile sketch for the KS test;
- categories: the ``MAX_LEVELS`` most frequent levels holding at least ``MIN_LEVEL_SHARE`` of
  the rows, then one "other" bin for the rest and for levels never seen (more bins make PSI
  noisier: its expected value on an unchanged feed grows with the number of bins);
- flags: false / true;
- free text: given or not;
- every field: a last "missing" bin (its share is the field's missing share).

Timestamps are not profiled: every new lead is later than training by definition. The score
(the model's probability) is binned at its held-out deciles.

Raw values, never clipped. Serving clips a number to the training range before the model sees
it (``InputField.clip``); drift is a question about the leads arriving, not about the model's
view of them, and the values clipping would hide are the clearest sign of drift (a field sent
in cents instead of euros). Both sides of the comparison are parsed the same way, unclipped;
the range serving clips to is kept per field (``training_range``) so the report can say which
share of a window the model saw clipped. With quantile bins whose end bins are open, clipping
would not move the PSI; it would hide that share, and shrink the KS distance when the held-out
rows reach beyond the training range.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, Field

from leadscore.features import FeatureSpec
from leadscore.features.parsing import MISSING
from leadscore.features.spec import Columns, Parsed

PROFILE_FILE = "reference_profile.json"
PROFILE_VERSION = 1
NUMERIC_BINS = 10
SCORE_BINS = 10
MIN_LEVEL_SHARE = 0.01
MAX_LEVELS = 10
SKETCH_POINTS = 1001
"""Evenly spaced quantiles kept per numeric field: the reference side of the KS test."""
OTHER_BIN = "other"
MISSING_BIN = "missing"
ProfiledKind = Literal["numeric", "boolean", "categorical", "text"]


def _edges(values: np.ndarray, bins: int) -> list[float]:
    """Interior quantile edges (``bins`` - 1 at most; repeated quantiles of tied values merge)."""
    if len(values) == 0:
        return []
    quantiles = np.quantile(values, np.linspace(0, 1, bins + 1)[1:-1])
    return [float(q) for q in np.unique(quantiles)]


def _numeric_bin(values: np.ndarray, edges: Sequence[float]) -> np.ndarray:
    """Bin index of each non-missing value: bin i holds edges[i-1] < x <= edges[i]."""
    return np.searchsorted(np.asarray(edges, dtype=np.float64), values, side="left")


class FieldProfile(BaseModel):
    """One raw field's reference distribution over named bins (the last bin is "missing")."""

    name: str
    kind: ProfiledKind
    bins: list[str]
    shares: list[float] = Field(description="Share of the reference rows in each bin; sums to 1.")
    edges: list[float] = Field(default_factory=list, description="numeric: interior bin edges.")
    levels: list[str] = Field(default_factory=list, description="categorical: levels with a bin of their own.")
    sketch: list[float] = Field(default_factory=list, description="numeric: evenly spaced reference quantiles.")
    training_range: tuple[float, float] | None = Field(
        None, description="numeric: the range serving clips the field to (the feature contract's clip).")

    @property
    def missing_share(self) -> float:
        return self.shares[-1]

    def counts(self, parsed: Parsed) -> np.ndarray:
        """How many of ``parsed``'s rows fall in each bin (same order as ``bins``)."""
        index = self._bin_index(parsed[self.name])
        return np.bincount(index, minlength=len(self.bins)).astype(np.float64)

    def values(self, parsed: Parsed) -> np.ndarray:
        """numeric: the non-missing values (the sample side of the KS test)."""
        values = parsed[self.name]
        return values[~np.isnan(values)]

    def beyond_range(self, parsed: Parsed) -> float | None:
        """numeric: share of ``parsed``'s rows whose value lies outside ``training_range``, which
        the model saw clipped to it; None without a range (other kinds, older profiles)."""
        if self.training_range is None:
            return None
        values = self.values(parsed)
        low, high = self.training_range
        return float(np.count_nonzero((values < low) | (values > high))) / max(parsed.n, 1)

    def _bin_index(self, column: Any) -> np.ndarray:
        missing = len(self.bins) - 1
        if self.kind == "numeric":
            values = np.asarray(column, dtype=np.float64)
            gone = np.isnan(values)
            return np.where(gone, missing, _numeric_bin(np.where(gone, 0.0, values), self.edges))
        if self.kind == "boolean":
            values = np.asarray(column, dtype=np.float64)
            return np.where(np.isnan(values), missing, (values == 1.0).astype(np.intp))
        if self.kind == "text":
            return np.fromiter((missing if text == "" else 0 for text in column), np.intp, len(column))
        index = {level: i for i, level in enumerate(self.levels)}
        other = len(self.levels)
        return column.lookup(lambda level: missing if level == MISSING else index.get(level, other)).astype(np.intp)


class ScoreProfile(BaseModel):
    """The held-out probabilities over their decile bins."""

    edges: list[float]
    shares: list[float]

    def counts(self, scores: np.ndarray) -> np.ndarray:
        index = _numeric_bin(np.asarray(scores, dtype=np.float64), self.edges)
        return np.bincount(index, minlength=len(self.edges) + 1).astype(np.float64)


class ReferenceProfile(BaseModel):
    """``reference_profile.json``: every profiled field and the score, on ``rows`` held-out rows."""

    version: int = PROFILE_VERSION
    rows: int = Field(ge=1)
    fields: list[FieldProfile]
    score: ScoreProfile

    def kinds(self) -> dict[str, str]:
        return {f.name: f.kind for f in self.fields}

    def parse(self, columns: Columns, n: int) -> Parsed:
        """Raw columns (a DataFrame's, or served records') parsed as the feature pipeline does."""
        return Parsed(self.kinds(), columns, n, {})  # unclipped, as the profile was built


def _profile_field(name: str, kind: ProfiledKind, parsed: Parsed,
                   training_range: tuple[float, float] | None) -> FieldProfile:
    n = parsed.n
    if kind == "numeric":
        values = parsed[name]
        present = values[~np.isnan(values)]
        edges = _edges(present, NUMERIC_BINS)
        points = min(SKETCH_POINTS, len(present))  # never more points than rows: the KS test counts them
        sketch = np.quantile(present, np.linspace(0, 1, points)).tolist() if points else []
        labels = _numeric_labels(edges)
        draft = FieldProfile(name=name, kind=kind, bins=[*labels, MISSING_BIN], shares=[], edges=edges,
                             sketch=sketch, training_range=training_range)
    elif kind == "boolean":
        draft = FieldProfile(name=name, kind=kind, bins=["false", "true", MISSING_BIN], shares=[])
    elif kind == "text":
        draft = FieldProfile(name=name, kind=kind, bins=["given", MISSING_BIN], shares=[])
    else:
        levels = parsed[name]
        counts = np.bincount(levels.codes, minlength=len(levels.levels))
        order = np.argsort(-counts, kind="stable")
        kept = [levels.levels[i] for i in order
                if levels.levels[i] != MISSING and counts[i] >= MIN_LEVEL_SHARE * n][:MAX_LEVELS]
        draft = FieldProfile(name=name, kind=kind, bins=[*kept, OTHER_BIN, MISSING_BIN], shares=[], levels=kept)
    counts = draft.counts(parsed)
    return draft.model_copy(update={"shares": (counts / max(n, 1)).tolist()})


def _numeric_labels(edges: Sequence[float]) -> list[str]:
    if not edges:
        return ["any"]
    shown = [f"{e:.6g}" for e in edges]
    return [f"<= {shown[0]}", *(f"({a}, {b}]" for a, b in pairwise(shown)), f"> {shown[-1]}"]


def profiled_fields(spec: FeatureSpec) -> dict[str, ProfiledKind]:
    """The spec's raw input fields that get a profile, with their kind (ids and timestamps do not)."""
    return {f.name: f.kind for f in spec.inputs if f.kind in ("numeric", "boolean", "categorical", "text")}


def build_profile(spec: FeatureSpec, columns: Columns, n: int, scores: np.ndarray) -> ReferenceProfile:
    """The reference profile of ``n`` held-out rows (raw columns) and the model's probabilities on them."""
    kinds = profiled_fields(spec)
    clips = {f.name: f.clip for f in spec.inputs if f.clip is not None}
    parsed = Parsed(kinds, columns, n, {})  # unclipped, as served leads are compared (module docstring)
    scores = np.asarray(scores, dtype=np.float64)
    edges = _edges(scores, SCORE_BINS)
    score = ScoreProfile(edges=edges, shares=[])
    score = score.model_copy(update={"shares": (score.counts(scores) / max(len(scores), 1)).tolist()})
    fields = [_profile_field(name, kind, parsed, clips.get(name)) for name, kind in kinds.items()]
    return ReferenceProfile(rows=n, fields=fields, score=score)


def record_columns(records: Sequence[Mapping[str, Any] | None], names: Sequence[str]) -> Columns:
    """Raw columns from JSON records (served requests); a record that was not logged is all missing."""
    return {name: np.array([(r or {}).get(name) for r in records], dtype=object) for name in names}
