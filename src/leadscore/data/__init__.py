"""leadscore.data: the dataset contract.

Load (``load_dataset``), describe (``DatasetSpec`` -> ``infer_schema`` -> ``DatasetSchema``),
refuse what cannot train (``validate``), refuse what leaks (``check_leakage``), and make
synthetic leads with a known truth (``synth.generate``). Nothing here imports scikit-learn,
so the serving image can use the schema helpers.
"""

from leadscore.data import synth
from leadscore.data.leakage import LeakFinding, check_leakage
from leadscore.data.loading import load_dataset
from leadscore.data.schema import (
    GROUND_TRUTH_COLUMNS,
    ColumnRole,
    ColumnSchema,
    DatasetSchema,
    DatasetSpec,
    infer_schema,
)
from leadscore.data.synth import drop_ground_truth
from leadscore.data.validation import CONVERSION_RATE_RANGE, MIN_ROWS, conversion_rate_warning, validate

__all__ = [
    "CONVERSION_RATE_RANGE",
    "GROUND_TRUTH_COLUMNS",
    "MIN_ROWS",
    "ColumnRole",
    "ColumnSchema",
    "DatasetSchema",
    "DatasetSpec",
    "LeakFinding",
    "check_leakage",
    "conversion_rate_warning",
    "drop_ground_truth",
    "infer_schema",
    "load_dataset",
    "synth",
    "validate",
]
