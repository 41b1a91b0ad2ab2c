import numpy as np
import pytest

from leadscore.errors import DatasetError
from leadscore.trainer.split import split_rows


def _labels(n: int = 1000, rate: float = 0.2, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).random(n) < rate).astype(int)


def test_split_rows_puts_newest_rows_in_test_when_times_given():
    y = _labels()
    times = np.random.default_rng(1).permutation(len(y)).astype(float)
    split = split_rows(y, times, seed=3)
    assert split.strategy == "time"
    assert times[split.train].max() < times[split.valid].min()
    assert times[split.valid].max() < times[split.test].min()


def test_split_rows_treats_missing_times_as_oldest():
    y = _labels()
    times = np.arange(len(y), dtype=float)
    times[-5:] = np.nan
    split = split_rows(y, times, seed=3)
    assert set(range(len(y) - 5, len(y))) <= set(split.train.tolist())


def test_split_rows_partitions_every_row_once_when_stratified():
    y = _labels()
    split = split_rows(y, None, seed=3)
    together = np.concatenate([split.train, split.valid, split.test])
    assert split.strategy == "stratified"
    assert sorted(together.tolist()) == list(range(len(y)))
    assert abs(y[split.test].mean() - y.mean()) < 0.01


def test_split_rows_is_reproducible_for_a_seed():
    y = _labels()
    first, second, other = split_rows(y, None, 5), split_rows(y, None, 5), split_rows(y, None, 6)
    assert np.array_equal(first.test, second.test)
    assert not np.array_equal(first.test, other.test)


def test_split_rows_refuses_a_part_without_positives_when_recent_leads_never_convert():
    y = _labels()
    y[-200:] = 0
    with pytest.raises(DatasetError, match="test part has 0 positive"):
        split_rows(y, np.arange(len(y), dtype=float), seed=0)
