"""leadscore.features: one feature pipeline, fitted at training and replayed at serving.

- ``LeadFeatures`` (scikit-learn transformer; needs scikit-learn and pandas) fits the
  pipeline and saves it with ``to_spec()`` as ``feature_spec.json``.
- ``FeatureSpec`` (pydantic + numpy only) is that file: the predictor loads it with
  ``FeatureSpec.model_validate(json)``, checks requests with ``validate_records`` and builds
  the matrix with ``transform_records``, without importing scikit-learn.

``LeadFeatures`` is imported lazily so that ``from leadscore.features import FeatureSpec``
stays cheap in the serving image.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from leadscore.features.contract import InputField, RecordError
from leadscore.features.describe import describe
from leadscore.features.spec import FeatureSpec

if TYPE_CHECKING:
    from leadscore.features.pipeline import LeadFeatures

__all__ = ["FeatureSpec", "InputField", "LeadFeatures", "RecordError", "describe"]


def __getattr__(name: str) -> Any:
    if name == "LeadFeatures":
        from leadscore.features.pipeline import LeadFeatures

        return LeadFeatures
    raise AttributeError(f"module 'leadscore.features' has no attribute {name!r}")
