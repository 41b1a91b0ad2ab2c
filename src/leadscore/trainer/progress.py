"""How training reports progress: rich bars on stderr for people, nothing for tests.

The pipeline talks to the small ``Progress`` interface only, so it never imports rich and a
Job's log stays readable (rich prints plain lines when stderr is not a terminal).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from rich.progress import TaskID


class Progress(Protocol):
    def stage(self, message: str) -> None: ...

    def search(self, algorithm: str, trials: int) -> Callable[[str], None]:
        """Start a bar; the returned function advances it by one trial with a status text."""
        ...

    def done(self, algorithm: str) -> None: ...

    def close(self) -> None:
        """Stop any live display (before the summary is printed)."""
        ...


class Silent:
    """No output (library use and tests)."""

    def stage(self, message: str) -> None:
        return None

    def search(self, algorithm: str, trials: int) -> Callable[[str], None]:
        return lambda _status: None

    def done(self, algorithm: str) -> None:
        return None

    def close(self) -> None:
        return None


class PlainProgress:
    """One flushed line per stage and per trial, for logs (a Job's stdout is not a terminal):
    ``[  12.3s] tuning lightgbm 12/25 best 0.4012``, so ``kubectl logs -f`` follows the search."""

    def __init__(self, write: Callable[[str], None] | None = None) -> None:
        import sys

        self._write = write or (lambda line: print(line, file=sys.stderr, flush=True))
        self._started = time.monotonic()

    def _line(self, text: str) -> None:
        self._write(f"[{time.monotonic() - self._started:7.1f}s] {text}")

    def stage(self, message: str) -> None:
        self._line(message)

    def search(self, algorithm: str, trials: int) -> Callable[[str], None]:
        done = 0

        def step(status: str) -> None:
            nonlocal done
            done += 1
            self._line(f"tuning {algorithm} {done}/{trials}" + (f" {status}" if status else ""))

        self._line(f"tuning {algorithm}: {trials} trials")
        return step

    def done(self, algorithm: str) -> None:
        self._line(f"tuned {algorithm}")

    def close(self) -> None:
        return None


class Reported:
    """Any ``Progress``, plus the current stage written to the version's progress file while the
    training runs, best effort (a failed write is logged once and never stops the training), so
    the operator can show it in the LeadScoringModel's status; ``finish`` removes the file."""

    def __init__(self, inner: Progress, uri: str, write: Callable[[str, bytes], None] | None = None,
                 remove: Callable[[str], None] | None = None) -> None:
        self._inner = inner
        self._uri = uri
        self._write = write
        self._remove = remove
        self._failed = False

    def _report(self, stage: str) -> None:
        from datetime import UTC, datetime

        from leadscore.api.results import TrainingProgress

        if self._failed:
            return
        try:
            if self._write is None:
                from leadscore.store.artifacts import write_bytes

                self._write = write_bytes
            self._write(self._uri, TrainingProgress(stage=stage, at=datetime.now(UTC)).model_dump_json().encode())
        except Exception as exc:  # the progress file is a courtesy: never fail a training over it
            self._failed = True
            self._inner.stage(f"warning: cannot write progress to {self._uri} ({exc}); continuing without it")

    def stage(self, message: str) -> None:
        self._inner.stage(message)
        self._report(message)

    def search(self, algorithm: str, trials: int) -> Callable[[str], None]:
        step = self._inner.search(algorithm, trials)
        done = 0

        def advance(status: str) -> None:
            nonlocal done
            done += 1
            step(status)
            self._report(f"tuning {algorithm} {done}/{trials}" + (f" {status}" if status else ""))

        self._report(f"tuning {algorithm} 0/{trials}")
        return advance

    def done(self, algorithm: str) -> None:
        self._inner.done(algorithm)

    def close(self) -> None:
        self._inner.close()

    def finish(self) -> None:
        """Remove the progress file once the training ended, either way: a failed training publishes
        nothing, and the result (termination message, result.json) says the rest."""
        try:
            if self._remove is None:
                from leadscore.store.artifacts import delete_file

                self._remove = delete_file
            self._remove(self._uri)
        except Exception as exc:
            self._inner.stage(f"warning: cannot remove {self._uri} ({exc})")


def for_stream(stream: object) -> Progress:
    """Bars for a person at a terminal, plain lines for a log."""
    isatty = getattr(stream, "isatty", None)
    return RichProgress() if callable(isatty) and isatty() else PlainProgress()


class RichProgress:
    """Stage lines and one progress bar per algorithm's search."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.console = Console(stderr=True)
        self._started = time.monotonic()
        self._bars = Progress(TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(),
                              TimeElapsedColumn(), TextColumn("{task.fields[status]}"),
                              console=self.console, transient=False)
        self._tasks: dict[str, TaskID] = {}
        self._live = False

    def stage(self, message: str) -> None:
        self.close()
        self.console.print(f"[dim]{time.monotonic() - self._started:6.1f}s[/] {message}")

    def search(self, algorithm: str, trials: int) -> Callable[[str], None]:
        if not self._live:
            self._bars.start()
            self._live = True
        task = self._bars.add_task(algorithm, total=trials, status="")
        self._tasks[algorithm] = task
        return lambda status: self._bars.update(task, advance=1, status=status)

    def done(self, algorithm: str) -> None:
        """A search may end early (time budget): the bar shows the trials actually run."""
        task = self._tasks[algorithm]
        self._bars.update(task, total=self._bars.tasks[task].completed)

    def close(self) -> None:
        if self._live:
            self._bars.stop()
            self._live = False
