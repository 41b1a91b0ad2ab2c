"""The root of leadscore's own exceptions, each with the exit code its CLI reports.

Exit codes are part of the trainer image's contract (trainer/CONTRACT.md): the operator
copies the message of a failed Job into the model's condition, so every message names the
field, the problem and what was given, on one line.
"""

from __future__ import annotations


class LeadscoreError(Exception):
    """Anything leadscore refuses on purpose; ``exit_code`` is what the CLI exits with."""

    exit_code = 1
    reason = "Error"


class ConfigError(LeadscoreError):
    """An option, environment variable or spec value that can never work."""

    exit_code = 2
    reason = "InvalidConfig"


class DatasetError(LeadscoreError):
    """The data cannot be loaded or fails validation (missing file, bad target, ...)."""

    exit_code = 3
    reason = "InvalidDataset"


class LeakageError(DatasetError):
    """A column leaks the label; refused unless ``--allow-leaky`` is given."""

    exit_code = 4
    reason = "LeakyColumns"


class TrainingError(LeadscoreError):
    """Training could not produce a model worth shipping."""

    exit_code = 5
    reason = "TrainingFailed"


class ParityError(TrainingError):
    """ONNX scores differ from the native model's by more than the tolerance."""

    exit_code = 6
    reason = "OnnxParityFailed"


class StorageError(LeadscoreError):
    """An artifact or object could not be read or written."""

    exit_code = 7
    reason = "StorageFailed"


class ValidationError(LeadscoreError):
    """Invalid input to a pure function (statistics, scoring thresholds, ...)."""

    exit_code = 2
    reason = "InvalidInput"


class InsufficientDataError(LeadscoreError):
    """Too few observations for a verdict (a drift window below its minimum sample, ...)."""

    exit_code = 8
    reason = "InsufficientData"
