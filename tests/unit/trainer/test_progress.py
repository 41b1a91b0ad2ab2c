"""Training progress: plain lines for logs, bars only at a terminal."""

from __future__ import annotations

import io

from leadscore.trainer.progress import PlainProgress, RichProgress, for_stream


def test_plain_progress_writes_one_line_per_stage_and_trial() -> None:
    lines: list[str] = []
    progress = PlainProgress(lines.append)
    progress.stage("loading leads.csv")
    step = progress.search("lightgbm", 25)
    step("best 0.4012")
    step("")
    progress.done("lightgbm")
    assert [line.split("] ", 1)[1] for line in lines] == [
        "loading leads.csv", "tuning lightgbm: 25 trials", "tuning lightgbm 1/25 best 0.4012",
        "tuning lightgbm 2/25", "tuned lightgbm"]


def test_a_pipe_gets_plain_lines_and_a_terminal_gets_bars() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert isinstance(for_stream(io.StringIO()), PlainProgress)
    assert isinstance(for_stream(Terminal()), RichProgress)
