"""LeadFeatures on the real datasets: raw, validated and JSON records give one matrix."""

from __future__ import annotations

import json

import numpy as np
import pytest

from leadscore.data import DatasetSpec, load_dataset, validate
from leadscore.features import LeadFeatures
from support.datasets import real_dataset

pytestmark = pytest.mark.datasets
XEDUCATION_LEAKS = ["Tags", "Lead Quality", "Lead Profile", "Last Notable Activity", "Asymmetrique Activity Index",
                    "Asymmetrique Profile Index", "Asymmetrique Activity Score", "Asymmetrique Profile Score"]


@pytest.mark.parametrize(("name", "spec"), [
    ("xeducation_leads.csv", DatasetSpec(target="Converted", id_column="Prospect ID", exclude=XEDUCATION_LEAKS)),
    ("bank_marketing.csv", DatasetSpec(target="y", exclude=["duration"])),
])
def test_lead_features_give_same_matrix_for_raw_validated_and_json_rows(name: str, spec: DatasetSpec) -> None:
    raw = load_dataset(real_dataset(name))
    clean, schema = validate(raw, spec)
    features = LeadFeatures(schema).fit(clean, clean[spec.target])
    from_clean = features.transform(clean)
    from_raw = features.transform(raw)  # what batch scoring sees: strings, "Yes"/"No", garbage
    assert np.array_equal(from_clean, from_raw, equal_nan=True)
    records = json.loads(raw.head(300).to_json(orient="records"))
    assert np.array_equal(features.transform_records(records), from_raw[:300], equal_nan=True)
    assert not {n for n in features.feature_names_out_ if n.startswith((spec.target, *spec.exclude))}


def test_lead_features_find_engagement_ratio_in_xeducation_names() -> None:
    spec = DatasetSpec(target="Converted", id_column="Prospect ID", exclude=XEDUCATION_LEAKS)
    clean, schema = validate(load_dataset(real_dataset("xeducation_leads.csv")), spec)
    features = LeadFeatures(schema).fit(clean, clean["Converted"])
    ratio = next(e for e in features.spec_.encoders if e.type == "ratio")
    assert (ratio.numerator, ratio.denominator) == ("Total Time Spent on Website", "TotalVisits")
