"""infer_schema: roles from values, declarations and the spec; JSON round trip."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from leadscore.data import GROUND_TRUTH_COLUMNS, DatasetSchema, DatasetSpec, infer_schema
from leadscore.data.schema import infer_role


def _frame(rows: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "lead_id": [f"L{i}" for i in range(rows)],
        "created": pd.date_range("2025-01-01", periods=rows, freq="h").astype(str),
        "pages": rng.integers(0, 20, rows),
        "price": rng.normal(100, 10, rows).astype(str),
        "opted_in": rng.choice(["Yes", "No"], rows),
        "source": rng.choice(["web", "referral", "partner"], rows),
        "campaign": [f"c{i % 40}" for i in range(rows)],
        "notes": [f"called on day {i} and asked about a quote" for i in range(rows)],
        "converted": rng.choice(["yes", "no"], rows),
        "true_probability": rng.random(rows),
    })


def test_infer_schema_assigns_roles_from_values_and_spec() -> None:
    spec = DatasetSpec(target="converted", id_column="lead_id", time_column="created")
    schema = infer_schema(_frame(), spec)
    roles = {c.name: c.role for c in schema.columns}
    assert roles == {
        "lead_id": "id", "created": "time", "pages": "numeric", "price": "numeric", "opted_in": "boolean",
        "source": "categorical", "campaign": "categorical", "notes": "text", "converted": "target",
        "true_probability": "excluded",
    }
    assert schema.column("campaign").high_cardinality
    assert not schema.column("source").high_cardinality
    assert schema.positive_rate is not None and 0.3 < schema.positive_rate < 0.7


def test_infer_schema_excludes_ground_truth_when_spec_does_not_mention_it() -> None:
    schema = infer_schema(_frame(), DatasetSpec(target="converted"))
    assert schema.column(GROUND_TRUTH_COLUMNS[0]).role == "excluded"
    assert GROUND_TRUTH_COLUMNS[0] not in schema.feature_columns


def test_infer_schema_honours_declared_types_and_exclusions() -> None:
    spec = DatasetSpec(target="converted", types={"pages": "categorical"}, exclude="source, notes",
                       post_outcome=["campaign"])
    schema = infer_schema(_frame(), spec)
    assert schema.column("pages").role == "categorical" and schema.column("pages").declared
    assert schema.column("source").role == "excluded" and schema.column("notes").role == "excluded"
    assert schema.column("campaign").post_outcome


def test_dataset_schema_round_trips_json_when_recorded_in_model_card() -> None:
    schema = infer_schema(_frame(), DatasetSpec(target="converted", id_column="lead_id"))
    again = DatasetSchema.model_validate_json(schema.model_dump_json())
    assert again == schema
    assert again.names("id") == ["lead_id"]


@pytest.mark.parametrize(("values", "role"), [
    ([1.5, 2.0, None], "numeric"),
    (["1", "0", None], "boolean"),
    ([True, False, True], "boolean"),
    (["2025-01-01T10:00:00Z", "2025-02-01 11:00", None], "datetime"),
    (["a", "b", "c"], "categorical"),
    ([None, None, None], "categorical"),
])
def test_infer_role_recognises_kind_when_values_are_typical(values: list, role: str) -> None:
    assert infer_role(pd.Series(values * 10)) == role


def test_dataset_spec_refuses_threshold_at_chance_level() -> None:
    with pytest.raises(ValueError, match="leak_threshold"):
        DatasetSpec(target="y", leak_threshold=0.5)
