"""Fitting and measuring the per-lead interval and agreement of a shipped version
(``leadscore.uncertainty`` says what they mean and applies them at serving).

Both are fitted on the selection rows, the rows the calibrator is fitted on (margins of models
that never learned from them: ``trainer.refit.Holdout``), and measured on the test rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from leadscore.api.artifact import IntervalCoverage, MemberCalibration, Uncertainty
from leadscore.trainer import onnx_graph
from leadscore.trainer.calibration import SigmoidCalibrator
from leadscore.uncertainty import Table, coverage, fit_venn_abers


def fit(probabilities: np.ndarray, members: Sequence[str], margins: Mapping[str, np.ndarray],
        labels: np.ndarray) -> Uncertainty:
    """The Venn-ABERS table from held-out rows' calibrated probabilities (rounded to float32, as
    ``model.onnx`` serves them, so a served score equal to a calibration row's is that tie), and
    for an ensemble each member's own Platt calibration on the same rows' margins."""
    calibrations = []
    if len(members) > 1:
        for name in members:
            platt = SigmoidCalibrator().fit(margins[name], labels)
            calibrations.append(MemberCalibration(algorithm=name, a=platt.a_, b=platt.b_))
    return fit_venn_abers(probabilities.astype(np.float32).astype(np.float64), labels, calibrations)


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
