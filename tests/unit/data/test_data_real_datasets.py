"""The leakage guard and schema on the two real datasets in ../shared/datasets."""

from __future__ import annotations

import time
import warnings

import pytest

from leadscore.data import DatasetSpec, check_leakage, load_dataset, validate
from leadscore.errors import LeakageError
from support.datasets import real_dataset

pytestmark = pytest.mark.datasets


def test_check_leakage_refuses_tags_on_xeducation() -> None:
    spec = DatasetSpec(target="Converted", id_column="Prospect ID")
    clean, schema = validate(load_dataset(real_dataset("xeducation_leads.csv")), spec)
    with pytest.raises(LeakageError, match=r"Tags predicts the target almost perfectly \(ROC-AUC 0\.9"):
        check_leakage(clean, schema, spec)


def test_check_leakage_passes_xeducation_when_sales_columns_are_excluded() -> None:
    leaky = ["Tags", "Lead Quality", "Lead Profile", "Last Notable Activity", "Asymmetrique Activity Index",
             "Asymmetrique Profile Index", "Asymmetrique Activity Score", "Asymmetrique Profile Score"]
    spec = DatasetSpec(target="Converted", id_column="Prospect ID", exclude=leaky)
    clean, schema = validate(load_dataset(real_dataset("xeducation_leads.csv")), spec)
    assert not [f for f in check_leakage(clean, schema, spec) if f.refused]
    assert schema.column("Do Not Email").role == "boolean"
    assert schema.column("Total Time Spent on Website").role == "numeric"


def test_check_leakage_flags_duration_on_bank_marketing_quickly() -> None:
    spec = DatasetSpec(target="y")
    frame = load_dataset(real_dataset("bank_marketing.csv"))
    assert frame.shape == (41188, 21)
    clean, schema = validate(frame, spec)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        findings = check_leakage(clean, schema, spec)
    elapsed = time.perf_counter() - started
    assert findings and findings[0].column == "duration" and findings[0].reason == "suspect"
    assert elapsed < 10.0  # about 1.5 s on an idle laptop core; generous for a shared CI box


def test_check_leakage_refuses_duration_on_bank_marketing_when_declared_post_outcome() -> None:
    spec = DatasetSpec(target="y", post_outcome=["duration"])
    clean, schema = validate(load_dataset(real_dataset("bank_marketing.csv")), spec)
    with pytest.raises(LeakageError, match=r"duration is declared post-outcome \(ROC-AUC 0\.8"):
        check_leakage(clean, schema, spec)
