"""Scoring encoded features on the fastest engine that provably equals ``model.onnx``: shared by
the predictor and ``leadscore score`` (``choice`` picks and verifies, ``members`` runs)."""

from leadscore.engines.choice import BATCH, MODEL_ONNX, SINGLE, TOLERANCE, Engines, choose, save_parity_rows

__all__ = ["BATCH", "MODEL_ONNX", "SINGLE", "TOLERANCE", "Engines", "choose", "save_parity_rows"]
