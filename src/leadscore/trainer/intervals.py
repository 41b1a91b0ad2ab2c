"""Fitting and measuring the per-lead interval and agreement of a shipped version
(``leadscore.uncertainty`` says what they mean and applies them at serving).

Both are fitted on the validation rows, the rows the calibrator is fitted on, as ``model.onnx``
scores them (the same float32 probability serving gets, so a lead whose score equals a
calibration row's is looked up as that tie), and measured on the test rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from leadscore.api.artifact import IntervalCoverage, MemberCalibration, Uncertainty
from leadscore.trainer import onnx_graph
from leadscore.trainer.calibration import SigmoidCalibrator
from leadscore.uncertainty import Table, coverage, fit_venn_abers


def fit(onnx_bytes: bytes, members: Sequence[str], valid_margins: Mapping[str, np.ndarray], x_valid: np.ndarray,
        y_valid: np.ndarray) -> Uncertainty:
    """The Venn-ABERS table, and for an ensemble each member's own Platt calibration."""
    valid_p = onnx_graph.predict(onnx_graph.session(onnx_bytes), x_valid).astype(np.float64)
    calibrations = []
    if len(members) > 1:
        for name in members:
            platt = SigmoidCalibrator().fit(valid_margins[name], y_valid)
            calibrations.append(MemberCalibration(algorithm=name, a=platt.a_, b=platt.b_))
    return fit_venn_abers(valid_p, y_valid, calibrations)


def measure(onnx_bytes: bytes, uncertainty: Uncertainty, x_test: np.ndarray, y_test: np.ndarray,
            native_margins: np.ndarray | None) -> IntervalCoverage:
    """Interval coverage and agreement on the test rows; for an ensemble, first the parity of the
    members' calibrated probabilities against ``native_margins`` [N, M] (``ParityError`` otherwise)."""
    sess = onnx_graph.session(onnx_bytes)
    table = Table(uncertainty)
    p0, p1 = table.interval(onnx_graph.predict(sess, x_test).astype(np.float64))
    agreement = None
    if len(table.members) > 1 and native_margins is not None:
        onnx_graph.check_member_parity(onnx_bytes, x_test, native_margins, table.a, table.b)
        agreement = table.agreement(onnx_graph.predict_members(sess, x_test))
    return coverage(p0, p1, y_test, agreement)
