"""``LeadFeatures``: the scikit-learn face of the feature pipeline (fit on training rows only).

``fit`` decides the encoders from the training rows and the dataset schema and stores them
as a ``FeatureSpec``; ``transform`` and the serving path both run that spec, so training and
serving cannot drift apart. Choices, and why:

- numbers stay numbers and missing stays NaN (the boosters route it); a ``<col>__missing``
  flag is added when training had gaps, so the logistic baseline, which the trainer imputes
  and scales, still sees missingness;
- categoricals with at most ``max_onehot`` levels (missing counts as a level) are one-hot
  with an ``__other__`` column for unseen levels; more levels get frequency and smoothed
  target-rate encoding, out-of-fold in ``fit_transform`` (as scikit-learn's TargetEncoder);
- the time column and other timestamps give UTC hour, day of week, weekend, business hours
  (Mon-Fri 9-17), month and quarter; other timestamps also give days after the time column;
- free text gives character and word counts; a text column the dataset declares (``text_columns``
  or ``types``) also gets ``TextTermsEncoder``: TF-IDF over at most ``text_max_features`` training
  words, keyword flags, e-mail/phone patterns, amounts and years (``leadscore.features.text``);
- contact fields (e-mail, phone, name, address, zip; or their ``has_*`` flags) give presence
  flags and ``contact_completeness``; engagement ratios appear when their columns exist.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
from sklearn.model_selection import KFold
from sklearn.utils.validation import check_is_fitted

from leadscore.api.leadscoringmodel import TEXT_MAX_FEATURES
from leadscore.data.schema import DatasetSchema, infer_role, never_a_feature
from leadscore.features import parsing
from leadscore.features.contract import InputField
from leadscore.features.spec import (
    BooleanEncoder,
    ContactEncoder,
    DatetimeEncoder,
    Encoder,
    FeatureSpec,
    FrequencyTargetEncoder,
    NumericEncoder,
    OneHotEncoder,
    RatioEncoder,
    TextEncoder,
    frame_columns,
)
from leadscore.features.text import fit_text_terms

__all__ = ["LeadFeatures", "frame_columns", "is_contact_field", "normalized"]

_CALENDAR: list[Any] = ["hour", "day_of_week", "is_weekend", "is_business_hours", "month", "quarter"]
_CONTACT = {
    "email", "e_mail", "email_address", "phone", "phone_number", "telephone", "mobile_phone", "name",
    "full_name", "first_name", "last_name", "address", "street", "street_address", "zip", "zipcode",
    "zip_code", "postal_code", "postcode",
}
# (output name, numerator pattern, denominator pattern, op): engagement ratios by column name.
_RATIOS = (
    ("time_per_page", r"(total_)?time_(on_site|spent)(_on_website)?(_seconds)?",
     r"pages?_(visited|viewed)|page_views|total_?visits|visits", "divide"),
    ("inbound_share", r"inbound(_messages)?(_count)?", r"outbound(_messages)?(_count)?", "share"),
)


def normalized(name: str) -> str:
    """``"Total Time Spent"`` -> ``"total_time_spent"``: the form name patterns match on."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def is_contact_field(name: str) -> bool:
    """True for e-mail/phone/name/address/zip columns and their ``has_*`` flags."""
    tokens = [t for t in normalized(name).split("_") if t not in ("has", "is", "provided", "given")]
    return "_".join(tokens) in _CONTACT


def _as_frame(table: Any, expected_width: int | None = None) -> pd.DataFrame:
    """A DataFrame as is; a 2-d array becomes columns ``x0..xN`` (positional, so width must match)."""
    if isinstance(table, pd.DataFrame):
        return table
    if sparse.issparse(table):
        raise TypeError("sparse input is not supported: pass a DataFrame of raw lead fields")
    array = np.asarray(table)
    if array.ndim != 2:
        raise ValueError(f"expected a 2-d table of leads, got an array of shape {array.shape}; "
                         "Reshape your data with array.reshape(1, -1) for a single lead")
    if np.iscomplexobj(array):
        raise ValueError("Complex data not supported")
    if expected_width is not None and array.shape[1] != expected_width:
        raise ValueError(f"X has {array.shape[1]} features, but LeadFeatures is expecting "
                         f"{expected_width} features as input")
    return pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])


class LeadFeatures(TransformerMixin, BaseEstimator):
    """Raw lead table -> float32 matrix; the fitted state is ``spec_`` (``feature_spec.json``).

    ``schema`` is the ``DatasetSchema`` from ``leadscore.data.validate`` (roles decide the
    encoders); without it roles are inferred from the training rows. (The mixin comes first:
    scikit-learn >= 1.6 reads the transformer tags from the leftmost base.)
    """

    def __init__(
        self,
        schema: DatasetSchema | dict | None = None,
        max_onehot: int = 10,
        target_folds: int = 5,
        smoothing: float = 10.0,
        random_state: int = 0,
        text_max_features: int = TEXT_MAX_FEATURES,
    ) -> None:
        self.schema = schema
        self.max_onehot = max_onehot
        self.target_folds = target_folds
        self.smoothing = smoothing
        self.random_state = random_state
        self.text_max_features = text_max_features

    def __sklearn_tags__(self) -> Any:
        """Raw lead tables: strings and categories welcome, NaN means missing, float32 out."""
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.transformer_tags.preserves_dtype = ["float32"]
        return tags

    # -- fitting ---------------------------------------------------------------------------

    def _roles(self, frame: pd.DataFrame) -> tuple[dict[str, str], str | None, str | None]:
        roles: dict[str, str]
        if self.schema is None:
            roles = {str(c): infer_role(frame[c]) for c in frame.columns if not never_a_feature(c)}
            return roles, None, None
        schema = DatasetSchema.model_validate(self.schema)
        roles = {c.name: c.role for c in schema.columns if c.role not in ("target", "excluded")}
        for name in [n for n in roles if never_a_feature(n)]:
            roles.pop(name, None)
        return roles, schema.id_column, schema.time_column

    def _declared_text(self) -> set[str]:
        """Text columns the dataset declared: these get the full text encoding, not just lengths."""
        if self.schema is None:
            return set()
        schema = DatasetSchema.model_validate(self.schema)
        return {c.name for c in schema.columns if c.role == "text" and c.declared}

    def fit(self, X: pd.DataFrame, y: Any = None) -> LeadFeatures:  # noqa: N803 (scikit-learn's name)
        """Learn encoders from training rows (never validation or test rows)."""
        frame = _as_frame(X)
        if frame.shape[1] == 0:
            raise ValueError(f"0 feature(s) (shape={frame.shape}) while a minimum of 1 is required.")
        if frame.shape[0] == 0:
            raise ValueError(f"0 sample(s) (shape={frame.shape}) while a minimum of 1 is required.")
        target = None if y is None else np.asarray(y, dtype=np.float64)
        if target is not None and len(target) != len(frame):
            raise ValueError(f"y has {len(target)} values for {len(frame)} rows")
        roles, id_field, time_field = self._roles(frame)
        columns = frame_columns(frame)
        n = len(frame)
        inputs: list[InputField] = []
        encoders: list[Encoder] = []
        contact = [name for name, role in roles.items()
                   if role in ("boolean", "categorical", "text", "numeric") and is_contact_field(name)]
        declared_text = self._declared_text()
        for name, role in roles.items():
            raw = columns.get(name, np.full(n, None, dtype=object))
            field, encoder = self._field(name, role, raw, target, time_field, contact)
            inputs.append(field)
            encoders.extend(encoder)
            if name in declared_text and name not in contact:
                encoders.append(fit_text_terms(name, parsing.texts(raw), self.text_max_features,
                                               ENGLISH_STOP_WORDS))
        if contact:
            kinds = {field.name: field.kind for field in inputs if field.name in contact}
            presence = [name for name in contact if roles[name] != "boolean"]
            encoders.append(ContactEncoder(fields=kinds, presence_columns=presence))
        encoders.extend(self._ratios(roles))
        self.spec_ = FeatureSpec(id_field=id_field, inputs=inputs, encoders=encoders)
        self._publish()
        self.n_features_in_ = frame.shape[1]
        if isinstance(X, pd.DataFrame):
            self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        return self

    def _field(
        self, name: str, role: str, raw: np.ndarray, target: np.ndarray | None,
        time_field: str | None, contact: list[str],
    ) -> tuple[InputField, list[Encoder]]:
        if role == "id":
            return InputField(name=name, kind="id", required=True), []
        if name in contact and role != "boolean":  # presence only (ContactEncoder); never the value
            kind = role if role in ("numeric", "categorical") else "text"
            return InputField(name=name, kind=kind), []
        if role == "numeric":
            values = parsing.numbers(raw)
            observed = values[~np.isnan(values)]
            minimum = 0.0 if observed.size and observed.min() >= 0 else None
            clip = (float(observed.min()), float(observed.max())) if observed.size else None
            field = InputField(name=name, kind="numeric", minimum=minimum, clip=clip)
            return field, [NumericEncoder(field=name, missing_indicator=bool(np.isnan(values).any()))]
        if role == "boolean":
            return InputField(name=name, kind="boolean"), [BooleanEncoder(field=name)]
        if role in ("time", "datetime"):
            relative = time_field if role == "datetime" and time_field else None
            encoder = DatetimeEncoder(field=name, parts=_CALENDAR, relative_to=relative)
            return InputField(name=name, kind="datetime"), [encoder]
        if role == "text":
            chars, words = TextEncoder(field=name).lengths(parsing.texts(raw))
            longest = (float(chars.max()), float(words.max())) if len(chars) else (None, None)
            return InputField(name=name, kind="text"), [TextEncoder(field=name, max_chars=longest[0],
                                                                    max_words=longest[1])]
        return self._categorical(name, parsing.categories(raw), target)

    def _categorical(
        self, name: str, column: parsing.Levels, target: np.ndarray | None
    ) -> tuple[InputField, list[Encoder]]:
        counts = dict(zip(column.levels, np.bincount(column.codes, minlength=len(column.levels)).tolist(),
                          strict=True))
        levels = sorted(counts, key=lambda level: (-counts[level], level))
        seen = [level for level in levels if level != parsing.MISSING]
        field = InputField(name=name, kind="categorical", categories=seen)
        if len(levels) <= self.max_onehot:
            return field, [OneHotEncoder(field=name, levels=levels)]
        frequency = {level: counts[level] / len(column.codes) for level in levels}
        if target is None:
            return field, [FrequencyTargetEncoder(field=name, frequency=frequency)]
        rate, prior = self._target_rates(column.values(), target)
        return field, [FrequencyTargetEncoder(field=name, frequency=frequency, target_rate=rate, prior=prior)]

    def _target_rates(self, values: np.ndarray, target: np.ndarray) -> tuple[dict[str, float], float]:
        """Smoothed rate per level: (positives + m * prior) / (count + m)."""
        prior = float(target.mean())
        grouped = pd.DataFrame({"level": values, "y": target}).groupby("level")["y"].agg(["sum", "count"])
        rates = (grouped["sum"] + self.smoothing * prior) / (grouped["count"] + self.smoothing)
        return {str(k): float(v) for k, v in rates.items()}, prior

    def _ratios(self, roles: dict[str, str]) -> list[Encoder]:
        numeric = [name for name, role in roles.items() if role == "numeric"]
        ratios: list[Encoder] = []
        for output, top, bottom, op in _RATIOS:
            a = next((n for n in numeric if re.fullmatch(top, normalized(n))), None)
            b = next((n for n in numeric if re.fullmatch(bottom, normalized(n))), None)
            if a and b and output not in roles:
                ratios.append(RatioEncoder(name=output, numerator=a, denominator=b, op=op))
        return ratios

    def _publish(self) -> None:
        self.feature_names_out_ = np.asarray(self.spec_.feature_names(), dtype=object)
        self.feature_origin_ = self.spec_.feature_origins()
        self.n_features_out_ = len(self.feature_names_out_)

    # -- transforming ----------------------------------------------------------------------

    def transform(self, X: pd.DataFrame) -> np.ndarray:  # noqa: N803
        """float32 matrix with columns ``feature_names_out_``; missing fields count as missing."""
        check_is_fitted(self, "spec_")
        width = None if hasattr(self, "feature_names_in_") else getattr(self, "n_features_in_", None)
        return self.spec_.transform_frame(_as_frame(X, width))

    def fit_transform(self, X: pd.DataFrame, y: Any = None, **_: Any) -> np.ndarray:  # noqa: N803
        """``fit`` then ``transform``, but target rates are out-of-fold so no row sees its label."""
        frame = _as_frame(X)
        matrix = self.fit(X, y).spec_.transform_frame(frame)
        if y is None:
            return matrix
        target = np.asarray(y, dtype=np.float64)
        folds = KFold(n_splits=self.target_folds, shuffle=True, random_state=self.random_state)
        names = list(self.feature_names_out_)
        columns = frame_columns(frame)
        for encoder in self.spec_.encoders:
            if not isinstance(encoder, FrequencyTargetEncoder) or encoder.target_rate is None:
                continue
            values = parsing.categories(columns[encoder.field]).values()
            out = names.index(f"{encoder.field}__target_rate")
            for fit_rows, held_rows in folds.split(values):
                rates, prior = self._target_rates(values[fit_rows], target[fit_rows])
                matrix[held_rows, out] = [rates.get(v, prior) for v in values[held_rows]]
        return matrix

    def transform_records(self, records: list[dict[str, Any]]) -> np.ndarray:
        """Serving path, equal to ``transform(pd.DataFrame(records))`` without pandas."""
        check_is_fitted(self, "spec_")
        return self.spec_.transform_records(records)

    def validate_records(self, records: list[Any], strict: bool = False) -> None:
        """Raise ``RecordError`` ("instances[2].pages_visited: ...") for the first bad field."""
        check_is_fitted(self, "spec_")
        self.spec_.validate_records(records, strict=strict)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """scikit-learn's name accessor."""
        check_is_fitted(self, "spec_")
        return self.feature_names_out_

    # -- persistence -----------------------------------------------------------------------

    def to_spec(self) -> dict[str, Any]:
        """The fitted state as JSON-ready data (write it as ``feature_spec.json``)."""
        check_is_fitted(self, "spec_")
        return self.spec_.model_dump(mode="json")

    @classmethod
    def from_spec(cls, spec: dict[str, Any] | FeatureSpec) -> LeadFeatures:
        """A fitted transformer from ``to_spec()`` output, giving bit-identical matrices."""
        features = cls()
        features.spec_ = FeatureSpec.model_validate(spec)
        features._publish()
        return features
