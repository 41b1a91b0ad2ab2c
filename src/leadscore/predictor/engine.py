"""The onnxruntime session: one per loaded model, tuned for many small requests.

Choices, each measured on the serving benchmark (bench/serve_bench.py):

* graph optimisation ALL: the exported graph holds tree ensembles, calibration and
  ensemble weighting; constant folding and node fusion are free at load time.
* a small intra-op pool without spinning for batches, and a second, single-threaded session
  for requests of fewer than ``SMALL_BATCH`` leads. onnxruntime's tree kernel splits even a
  single row across the pool once a model has more than 80 trees, and waking a sleeping
  worker costs more than the split saves: one lead of a 300-tree model scored in 31 us on
  one thread against 56 us on two. Spinning workers would burn the cores the event loop
  needs between requests, so they sleep instead.
* sequential execution, one inter-op thread: the graph is a chain.
* CUDA first when ``device`` is ``auto`` (or ``cuda``) and the CUDA provider is installed
  (the ``gpu`` extra); the CPU provider always stays as the fallback for unsupported nodes.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from leadscore.api.artifact import INPUT_TENSOR, MEMBERS_TENSOR, OUTPUT_TENSOR
from leadscore.api.wire import Device
from leadscore.errors import ConfigError

SMALL_BATCH = 8
"""Below this many rows the single-threaded session is faster (measured crossover: ~10 rows)."""


def providers_for(device: Device, available: list[str]) -> list[str]:
    """Execution providers to ask for, best first."""
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if device == "cuda":
        raise ConfigError(
            f"--device cuda: onnxruntime has no CUDA provider here (available: {available}); "
            "install the gpu extra (onnxruntime-gpu) or use --device auto"
        )
    return ["CPUExecutionProvider"]


def default_threads() -> int:
    """Cores this process may use, at most 4: beyond that tree kernels stop scaling."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, min(4, cores))


class OnnxScorer:
    """``features`` float32 [N, F] in, calibrated probability [N] out (and, when ``members`` is asked
    for and the graph has them, the ensemble members' margins [N, M] from the same run)."""

    def __init__(self, model_path: Path, device: Device = "auto", threads: int | None = None,
                 members: bool = False) -> None:
        import onnxruntime as ort

        providers = providers_for(device, ort.get_available_providers())
        threads = threads or default_threads()
        self._session = _open_session(model_path, providers, threads)
        on_cpu = self._session.get_providers()[0] == "CPUExecutionProvider"
        self._small = _open_session(model_path, providers, 1) if on_cpu and threads > 1 else self._session
        inputs = {i.name: i for i in self._session.get_inputs()}
        if INPUT_TENSOR not in inputs:
            raise ConfigError(f"{model_path}: expected an input named {INPUT_TENSOR!r}, found {sorted(inputs)}")
        outputs = [o.name for o in self._session.get_outputs()]
        if OUTPUT_TENSOR not in outputs:
            raise ConfigError(f"{model_path}: expected an output named {OUTPUT_TENSOR!r}, found {outputs}")
        width = inputs[INPUT_TENSOR].shape[1] if len(inputs[INPUT_TENSOR].shape) == 2 else None
        self.n_features: int | None = width if isinstance(width, int) else None
        self._outputs = [OUTPUT_TENSOR] + ([MEMBERS_TENSOR] if members and MEMBERS_TENSOR in outputs else [])

    @property
    def providers(self) -> list[str]:
        return list(self._session.get_providers())

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        """Probabilities of conversion, float64 [N]: one positive-class column whatever the export's shape."""
        return self.predict_members(matrix)[0]

    def predict_members(self, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Probabilities as ``predict``, and the members' margins when they were asked for (else None)."""
        session = self._small if len(matrix) < SMALL_BATCH else self._session
        probability, *members = session.run(self._outputs, {INPUT_TENSOR: matrix})
        probability = np.asarray(probability)
        if probability.ndim == 2 and probability.shape[1] == 2:
            probability = probability[:, 1]
        return probability.reshape(-1).astype(np.float64, copy=False), (members[0] if members else None)


def _open_session(model_path: Path, providers: list[str], threads: int):  # -> onnxruntime.InferenceSession
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return ort.InferenceSession(str(model_path), sess_options=options, providers=providers)
