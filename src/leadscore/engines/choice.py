"""Which engine scores each member, per batch-size class, chosen and verified at load.

``model.onnx`` on onnxruntime is the reference for every score. At load, for each batch-size
class (``single``: fewer than ``small`` rows, scored on one thread; ``batch``: the rest), every
member's candidate engines (``leadscore.engines.members``) are:

1. verified: the member's margins from the candidate, with every other member on its
   onnxruntime sub-graph, through the blend and calibrator, must match ``model.onnx``'s
   probability within ``TOLERANCE`` on the artifact's stored held-out rows
   (``PARITY_ROWS_FILE``), and the margins themselves its ``MEMBERS_TENSOR`` column (what
   agreement is computed from) when the reference answers them; a candidate that does not, or
   that fails, is refused and the refusal noted;
2. timed: a short bounded race (``race``: every candidate called in turn, round after round)
   on one stored row (single) or ``BATCH_ROWS`` rows (batch), the fastest verified engine per
   member kept.

Every route answers what the reference answers: the probability, and the members' margins
[N, M] only when the reference does (an ensemble whose agreement is served): the members' route
stacks the margins it computed anyway, so agreement never costs a second run of ``model.onnx``.
The members on their chosen engines then make one route, which is verified again as a whole
and timed against ``model.onnx``; it scores that class only when clearly faster (``MARGIN``),
and never when every member chose onnxruntime (that is ``model.onnx`` cut in pieces). An artifact without
stored rows or calibration (trained before this existed), or one whose members cannot be cut
out of ``model.onnx``, scores with ``model.onnx`` alone, and the notes say why.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from leadscore.api.artifact import MEMBERS_TENSOR, PARITY_ROWS_FILE, ServingCard
from leadscore.engines.members import FASTER, ONNXRUNTIME, Loader, Margin, Tail, onnx_margin, onnx_members

Scored = tuple[np.ndarray, np.ndarray | None]
"""The calibrated probability, float64 [N], and the members' margins, float64 [N, M] in the card's
``members`` order (``model.onnx``'s ``MEMBERS_TENSOR``), or None when they are not asked for."""
Scorer = Callable[[np.ndarray], Scored]
"""float32 features [N, F] -> ``Scored``."""
Key = tuple[str, ...]
"""What is timed: (class, member, engine), (class, "members") or (class, "model.onnx")."""
Timed = Callable[[np.ndarray], object]
"""What a race times: a ``Scorer`` or one member's ``Margin``."""
Measure = Callable[[Key, Timed, np.ndarray], float]
"""(what is timed, the callable, its input) -> seconds of one call."""

TOLERANCE = 1e-5
"""Largest |engine - model.onnx| accepted on a stored row: the trainer's ONNX parity tolerance."""
SINGLE = "single"
BATCH = "batch"
BATCH_ROWS = 1000
"""Rows the batch class is timed on (the stored rows, repeated)."""
MODEL_ONNX = "model.onnx"
"""The route that runs the whole reference graph on onnxruntime."""
MARGIN = 0.9
"""The members' route serves a class only when it takes at most this share of model.onnx's time:
between routes that measure alike, the reference wins."""
ROUNDS = {SINGLE: (300, 0.1), BATCH: (40, 0.3)}
"""Per class: at most N rounds, stopping after S seconds per raced callable."""


def measure_seconds(key: Key, scorer: Timed, x: np.ndarray) -> float:
    """Seconds of one call."""
    start = time.perf_counter()
    scorer(x)
    return time.perf_counter() - start


def race(scorers: Mapping[Key, Timed], x: np.ndarray, rounds: int, budget: float,
         measure: Measure = measure_seconds) -> dict[Key, float]:
    """Each scorer's fastest call on ``x`` over up to ``rounds`` rounds in which every scorer runs
    once in turn, each round led by the next one, so that a burst of load from other processes
    slows them alike; stops after ``budget`` seconds per scorer. One untimed warm-up call each."""
    for scorer in scorers.values():
        scorer(x)
    keys = list(scorers)
    best = dict.fromkeys(keys, float("inf"))
    deadline = time.perf_counter() + budget * len(keys)
    for turn in range(rounds):
        for key in keys[turn % len(keys):] + keys[: turn % len(keys)]:
            best[key] = min(best[key], measure(key, scorers[key], x))
        if time.perf_counter() > deadline:
            break
    return best


@dataclass(frozen=True)
class Route:
    """How one batch-size class is scored: ``engines`` per member, or ``model.onnx`` when empty."""

    engines: dict[str, str]
    score: Scorer
    seconds: float | None = None  # per timed call, this route
    reference_seconds: float | None = None  # per timed call, model.onnx
    max_diff: float | None = None  # on the stored rows, against model.onnx
    timings: dict[str, dict[str, float]] = field(default_factory=dict)  # member -> verified engine -> seconds

    @property
    def label(self) -> str:
        return "members" if self.engines else MODEL_ONNX

    def describe(self) -> dict[str, Any]:
        return {"engine": self.label, "members": dict(self.engines), "seconds_per_call": self.seconds,
                "model_onnx_seconds_per_call": self.reference_seconds, "max_abs_diff": self.max_diff,
                "member_seconds_per_call": self.timings}


@dataclass
class Engines:
    """The route per class, and every refusal or fallback as a sentence."""

    reference: Scorer
    routes: dict[str, Route]
    small: int
    notes: list[str] = field(default_factory=list)

    def scored(self, x: np.ndarray) -> Scored:
        """The probability and, when the reference answers them, the members' margins."""
        if not len(x):
            return self.reference(x)
        return self.routes[SINGLE if len(x) < self.small else BATCH].score(x)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The probability alone."""
        return self.scored(x)[0]

    def describe(self) -> dict[str, Any]:
        """For the model metadata: the route per class and the notes."""
        return {**{name: route.describe() for name, route in self.routes.items()}, "notes": list(self.notes)}

    def summary(self) -> str:
        """One log line: the engine per class and member."""
        return "; ".join(
            f"{name}: " + (", ".join(f"{m} on {e}" for m, e in route.engines.items()) or f"{MODEL_ONNX} on onnxruntime")
            for name, route in self.routes.items()
        )


def reference_only(reference: Scorer, small: int, why: str) -> Engines:
    """Every class on ``model.onnx``, with the reason."""
    whole = Route({}, reference)
    return Engines(reference, {SINGLE: whole, BATCH: whole}, small, [why])


def load_parity_rows(directory: Path) -> np.ndarray | None:
    """The stored held-out rows, or None in an artifact trained before they were stored."""
    path = directory / PARITY_ROWS_FILE
    if not path.is_file():
        return None
    return np.ascontiguousarray(np.load(path, allow_pickle=False), dtype=np.float32)


def max_diff(scores: np.ndarray, expected: np.ndarray) -> float:
    """max |scores - expected|; infinite when the shapes differ or any value is not finite."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.shape != expected.shape:
        return float("inf")
    diff = float(np.max(np.abs(scores - expected))) if len(expected) else 0.0
    return diff if np.isfinite(diff) else float("inf")


def choose(directory: Path, card: ServingCard, reference: Scorer, *, threads: int, small: int,
           spinning: bool = False, faster: Mapping[str, Mapping[str, Loader]] = FASTER,
           measure: Measure = measure_seconds) -> Engines:
    """The engines for one artifact (see the module docstring). ``reference`` scores with
    ``model.onnx``; ``faster`` names the candidates besides onnxruntime per algorithm."""
    rows = load_parity_rows(directory)
    if rows is None:
        return reference_only(reference, small, f"{PARITY_ROWS_FILE} is missing (the artifact predates per-member "
                                                "engines), so nothing can be verified: model.onnx scores every lead")
    if not len(rows):
        return reference_only(reference, small, f"{PARITY_ROWS_FILE} holds no rows, so nothing can be verified: "
                                                "model.onnx scores every lead")
    if not card.members or card.calibration is None:
        return reference_only(reference, small, "the model card lists no members or no calibration: model.onnx "
                                                "scores every lead")
    names = [m.algorithm for m in card.members]
    try:
        tail = Tail(card)
        graphs = onnx_members(directory, names)
    except Exception as exc:  # an unknown calibrator, a graph without the members' tensors, no onnx package
        return reference_only(reference, small, f"the members cannot be scored apart ({exc}): model.onnx scores "
                                                "every lead")
    probability, member_margins = reference(rows)
    expected = np.asarray(probability, dtype=np.float64)
    if member_margins is not None and np.shape(member_margins) != (len(rows), len(names)):
        return reference_only(reference, small, f"model.onnx answers {MEMBERS_TENSOR} of shape "
                                                f"{np.shape(member_margins)} for {len(rows)} rows and {len(names)} "
                                                "members: model.onnx scores every lead")
    expected_margins = None if member_margins is None else np.asarray(member_margins, dtype=np.float64)
    natives = {m.algorithm: directory / m.native_file for m in card.members}
    notes: list[str] = []
    routes = {}
    for name, threads_here in ((SINGLE, 1), (BATCH, threads)):
        candidates = {m: {ONNXRUNTIME: onnx_margin(m, graphs[m], threads_here, spinning)} for m in names}
        for m in names:
            for engine, load in faster.get(m, {}).items():
                try:
                    candidates[m][engine] = load(natives[m], threads_here)
                except Exception as exc:
                    notes.append(f"{name}: {m} on {engine} could not load ({exc}); refused")
        routes[name] = _route(name, names, candidates, tail, rows, (expected, expected_margins), reference,
                              measure, notes)
    return Engines(reference, routes, small, notes)


def _differs(tail: Tail, margins: list[np.ndarray], expected: Scored) -> float:
    """The worst of |probability - model.onnx's| and, when the reference answers them,
    |margin - model.onnx's member margin| (infinite on a wrong shape or a non-finite value)."""
    probability, member_margins = expected
    diff = max_diff(tail(margins), probability)
    if member_margins is not None:
        diff = max(diff, max_diff(np.column_stack(margins), member_margins))
    return diff


def _route(name: str, names: list[str], candidates: dict[str, dict[str, Margin]], tail: Tail, rows: np.ndarray,
           expected: Scored, reference: Scorer, measure: Measure, notes: list[str]) -> Route:
    """Verify, time and compose one class's engines; ``model.onnx`` when nothing beats it."""
    whole = Route({}, reference)
    with_margins = expected[1] is not None
    base = {m: candidates[m][ONNXRUNTIME](rows) for m in names}
    diff = _differs(tail, [base[m] for m in names], expected)
    if diff > TOLERANCE:
        notes.append(f"{name}: the members' onnxruntime margins through the numpy blend and calibration differ "
                     f"from model.onnx by {diff:.3g} (> {TOLERANCE:g}): model.onnx scores this class")
        return whole
    for m in names:
        for engine, margin in list(candidates[m].items()):
            if engine == ONNXRUNTIME:
                continue
            try:
                out = np.asarray(margin(rows), dtype=np.float64)
                if out.shape == (len(rows),):
                    diff = _differs(tail, [out if n == m else base[n] for n in names], expected)
                    problem = f"differs from model.onnx by {diff:.3g} (> {TOLERANCE:g})"
                else:
                    diff, problem = float("inf"), f"answered shape {out.shape} for {len(rows)} rows"
            except Exception as exc:
                diff, problem = float("inf"), f"failed ({exc})"
            if diff > TOLERANCE:
                del candidates[m][engine]
                notes.append(f"{name}: {m} on {engine} {problem} on {len(rows)} stored rows; refused, "
                             "onnxruntime scores it")
    x = rows[:1] if name == SINGLE else np.ascontiguousarray(np.resize(rows, (BATCH_ROWS, rows.shape[1])))
    rounds, budget = ROUNDS[name]
    timed = race({(name, m, engine): margin for m in names for engine, margin in candidates[m].items()}, x,
                 rounds, budget, measure)
    timings = {m: {engine: timed[name, m, engine] for engine in candidates[m]} for m in names}
    chosen = {m: min(timed_here, key=timed_here.__getitem__) for m, timed_here in timings.items()}
    if all(engine == ONNXRUNTIME for engine in chosen.values()):
        notes.append(f"{name}: every member is fastest on onnxruntime: model.onnx (the same trees in one graph) "
                     "scores this class")
        return Route({}, reference, timings=timings)
    margins = [candidates[m][chosen[m]] for m in names]

    def composed(features: np.ndarray) -> Scored:
        computed = [margin(features) for margin in margins]
        return tail(computed), np.column_stack(computed) if with_margins else None

    diff = _differs(tail, [margin(rows) for margin in margins], expected)
    if diff > TOLERANCE:
        notes.append(f"{name}: the members on {chosen} together differ from model.onnx by {diff:.3g} "
                     f"(> {TOLERANCE:g}): model.onnx scores this class")
        return whole
    final = race({(name, "members"): composed, (name, MODEL_ONNX): reference}, x, rounds, budget, measure)
    seconds, reference_seconds = final[name, "members"], final[name, MODEL_ONNX]
    if seconds > MARGIN * reference_seconds:
        notes.append(f"{name}: the members on {chosen} ({seconds * 1e6:.0f} us per call) were not {1 / MARGIN:.2g}x "
                     f"faster than model.onnx ({reference_seconds * 1e6:.0f} us): model.onnx scores this class")
        return Route({}, reference, reference_seconds, reference_seconds, 0.0, timings)
    return Route(chosen, composed, seconds, reference_seconds, diff, timings)


def save_parity_rows(directory: Path, x: np.ndarray, rows: int = 1000) -> None:
    """Store up to ``rows`` evenly spaced held-out rows (the trainer, at publish time)."""
    index = np.unique(np.linspace(0, len(x) - 1, num=min(len(x), rows)).astype(np.intp))
    np.save(directory / PARITY_ROWS_FILE, np.ascontiguousarray(x[index], dtype=np.float32), allow_pickle=False)
