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


def test_reported_progress_writes_the_stage_beside_the_version_and_survives_a_failed_write() -> None:
    import json

    from leadscore.trainer.progress import Reported

    written: dict[str, bytes] = {}
    lines: list[str] = []
    progress = Reported(PlainProgress(lines.append), "s3://b/ns/m/v3.progress.json",
                        lambda uri, data: written.__setitem__(uri, data))
    progress.stage("loading s3://b/leads.parquet")
    assert json.loads(written["s3://b/ns/m/v3.progress.json"])["stage"] == "loading s3://b/leads.parquet"
    step = progress.search("lightgbm", 25)
    step("best 0.3987")
    assert json.loads(written["s3://b/ns/m/v3.progress.json"])["stage"] == "tuning lightgbm 1/25 best 0.3987"
    removed: list[str] = []
    Reported(PlainProgress(lines.append), "s3://b/ns/m/v3.progress.json", remove=removed.append).finish()
    assert removed == ["s3://b/ns/m/v3.progress.json"]

    def refuse(uri: str, data: bytes) -> None:
        raise OSError("read-only file system")

    broken = Reported(PlainProgress(lines.append), "/ro/v3.progress.json", refuse)
    broken.stage("loading")
    broken.stage("exporting")  # no second attempt, no exception
    assert sum("cannot write progress" in line for line in lines) == 1
