"""LightGBM's float64 thresholds written as float32 without changing a float32 input's path."""

from __future__ import annotations

import numpy as np

from leadscore.trainer.algorithms.lgbm import ZERO_THRESHOLD, float32_floor, float32_split_values, float32_thresholds

LOW = np.float32(0.1642857)
HIGH = np.nextafter(LOW, np.float32(1))


def test_float32_floor_keeps_every_float32_on_the_same_side() -> None:
    midpoint = np.nextafter((float(LOW) + float(HIGH)) / 2, np.inf)  # what LightGBM writes between the two
    big = float(np.finfo(np.float32).max) * 1.5
    thresholds = np.array([midpoint, float(LOW), -midpoint, big, -big, 1.0e-35])
    floored = float32_floor(thresholds)
    assert np.array_equal(floored.astype(np.float32).astype(np.float64), floored)  # float32 exactly
    assert (floored <= thresholds).all()
    assert floored[0] == float(LOW) and floored[1] == float(LOW)  # rounding to nearest gives HIGH for [0]
    assert floored[3] == float(np.finfo(np.float32).max) and floored[4] == -np.inf
    probes = np.array([LOW, HIGH, -LOW, -HIGH, 0.0, np.finfo(np.float32).max, -np.inf], dtype=np.float32)
    with np.errstate(over="ignore"):
        probes = np.r_[probes, np.nextafter(probes, np.float32(np.inf)), np.nextafter(probes, np.float32(-np.inf))]
    for t, f in zip(thresholds, floored, strict=True):
        assert np.array_equal(probes.astype(np.float64) <= t, probes <= np.float32(f))


def test_float32_split_values_send_inputs_lightgbm_reads_as_zero_the_way_lightgbm_does() -> None:
    zero = np.float32(ZERO_THRESHOLD)
    thresholds = np.array([-ZERO_THRESHOLD, -1e-36, 0.0, 1e-36, ZERO_THRESHOLD, 1.0, -1.0])
    probes = np.array([0.0, -0.0, 1e-36, -1e-36, zero, -zero, np.nextafter(zero, np.float32(1)),
                       np.nextafter(-zero, np.float32(-1)), 1.0, -1.0], dtype=np.float32)
    zeroed = np.where(np.abs(probes) <= ZERO_THRESHOLD, 0.0, probes.astype(np.float64))
    for t, f in zip(thresholds, float32_split_values(thresholds), strict=True):
        assert np.float32(f) == f
        assert np.array_equal(zeroed <= t, probes <= np.float32(f)), t


def test_float32_thresholds_rewrites_numeric_splits_only_and_drops_tree_sizes() -> None:
    """decision_type 1 marks a categorical split, whose threshold is an index: left as written."""
    midpoint = repr(float(np.nextafter((float(LOW) + float(HIGH)) / 2, np.inf)))
    text = ("tree\nversion=v4\ntree_sizes=120 80\n\nTree=0\nnum_leaves=3\n"
            f"threshold={midpoint} 1\ndecision_type=2 1\nleaf_value=0.1 0.2 0.3\n\n"
            "Tree=1\nnum_leaves=1\nleaf_value=0.5\n\nend of trees\n")
    rewritten = float32_thresholds(text)
    assert "tree_sizes" not in rewritten
    assert f"threshold={float(LOW)!r} 1\n" in rewritten
    assert rewritten.replace(f"threshold={float(LOW)!r}", f"threshold={midpoint}") == text.replace(
        "tree_sizes=120 80\n", "")
