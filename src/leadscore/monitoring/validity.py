"""Is the drift rule right? Measured on synthetic leads, with fixed seeds.

A pool of synthetic P&C leads (one process, twelve months mixed) is the "training
distribution". Each repetition draws a reference of ``reference_rows`` held-out-sized rows
and builds its profile, then compares it with

- fresh i.i.d. samples of ``sizes`` leads from the same pool: any flag is a false alarm;
- samples where ``SHIFTS`` moved four known fields by a known amount: the verdict is right
  only when exactly those four fields are flagged.

``tests/unit/monitoring/test_drift_validity.py`` runs it small; ``bench/drift_validity.py``
runs it large and writes the rates that docs/monitoring.md quotes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from leadscore.features.spec import frame_columns
from leadscore.monitoring.drift import DriftThresholds, compare
from leadscore.monitoring.profile import build_profile

Shift = Callable[[pd.DataFrame, np.random.Generator], None]


def _more_pages(frame: pd.DataFrame, _rng: np.random.Generator) -> None:
    frame["pages_visited"] = pd.to_numeric(frame["pages_visited"]) + 2


def _paid_search(frame: pd.DataFrame, rng: np.random.Generator) -> None:
    frame.loc[rng.random(len(frame)) < 0.4, "source"] = "paid_search"


def _more_quotes(frame: pd.DataFrame, rng: np.random.Generator) -> None:
    asked = frame["requested_quote"].astype(bool)
    frame.loc[~asked & (rng.random(len(frame)) < 0.6), "requested_quote"] = True


def _lost_emails(frame: pd.DataFrame, rng: np.random.Generator) -> None:
    frame.loc[rng.random(len(frame)) < 0.15, "has_email"] = None


SHIFTS: dict[str, tuple[str, Shift]] = {
    "pages_visited": ("+2 pages per visit", _more_pages),
    "source": ("40 % of leads relabelled paid_search", _paid_search),
    "requested_quote": ("60 % of non-requesters request a quote", _more_quotes),
    "has_email": ("15 % of leads lose the email flag (missing)", _lost_emails),
}


@dataclass
class SizeResult:
    """Rates at one sample size, over every repetition."""

    rows: int
    samples: int = 0
    false_alarms: int = 0
    field_checks: int = 0
    field_false_alarms: int = 0
    max_psi_unchanged: float = 0.0
    exact: int = 0
    shifted_flagged: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {
            "rows": self.rows, "samples": self.samples,
            "false_alarm_rate": self.false_alarms / max(self.samples, 1),
            "field_false_alarm_rate": self.field_false_alarms / max(self.field_checks, 1),
            "max_psi_unchanged": round(self.max_psi_unchanged, 4),
            "exact_detection_rate": self.exact / max(self.samples, 1),
            "detection_rate_by_field": {k: v / max(self.samples, 1) for k, v in self.shifted_flagged.items()},
        }


def measure(pool: pd.DataFrame, scores: np.ndarray, spec: object, sizes: Sequence[int], repeats: int,
            references: int, reference_rows: int, seed: int,
            thresholds: DriftThresholds | None = None) -> list[SizeResult]:
    """False-alarm and detection counts per sample size (``pool``: raw leads without the label)."""
    rng = np.random.default_rng(seed)
    thresholds = thresholds or DriftThresholds()
    results = {n: SizeResult(rows=n, shifted_flagged=dict.fromkeys(SHIFTS, 0)) for n in sizes}
    for _ in range(references):
        ref = rng.choice(len(pool), reference_rows, replace=False)
        profile = build_profile(spec, frame_columns(pool.iloc[ref]), reference_rows, scores[ref])  # type: ignore[arg-type]
        for n in sizes:
            result = results[n]
            for _ in range(repeats):
                rows = rng.choice(len(pool), n, replace=False)
                same = compare(profile, frame_columns(pool.iloc[rows]), n, scores[rows], thresholds)
                result.samples += 1
                result.false_alarms += bool(same.drifted)
                result.field_checks += len(same.fields)
                result.field_false_alarms += len(same.drifted)
                result.max_psi_unchanged = max(result.max_psi_unchanged, *(f.psi for f in same.fields))
                moved = pool.iloc[rows].copy()
                for _, shift in SHIFTS.values():
                    shift(moved, rng)
                changed = compare(profile, frame_columns(moved), n, None, thresholds)
                result.exact += set(changed.drifted) == set(SHIFTS)
                for name in changed.drifted:
                    if name in result.shifted_flagged:
                        result.shifted_flagged[name] += 1
    return list(results.values())


def synthetic_pool(rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, object]:
    """Synthetic P&C leads without their label, the ground-truth probabilities (standing in for
    the model's scores), and a feature spec fitted on the first 5,000 leads."""
    from leadscore.data import DatasetSpec, validate
    from leadscore.data.synth import ID_COLUMN, TARGET, TIME_COLUMN, generate
    from leadscore.features import FeatureSpec, LeadFeatures

    pool = generate("pc", rows, seed)
    clean, schema = validate(pool.iloc[:5000], DatasetSpec(target=TARGET, id_column=ID_COLUMN,
                                                           time_column=TIME_COLUMN))
    fitted = LeadFeatures(schema).fit(clean.drop(columns=[TARGET]), clean[TARGET])
    scores = pool["true_probability"].to_numpy(dtype=np.float64)
    return pool.drop(columns=[TARGET, "true_probability"]), scores, FeatureSpec.model_validate(fitted.to_spec())
