"""How training reports progress: rich bars on stderr for people, nothing for tests.

The pipeline talks to the small ``Progress`` interface only, so it never imports rich and a
Job's log stays readable (rich prints plain lines when stderr is not a terminal).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol


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
        self._tasks: dict[str, int] = {}
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
