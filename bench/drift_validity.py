"""False-alarm and detection rates of the drift rule, measured with fixed seeds.

    .venv/bin/python bench/drift_validity.py [--repeats 50] [--references 4]

A pool of 100,000 synthetic P&C leads is the training distribution; each of ``--references``
references (3,000 held-out-sized rows) is compared with ``--repeats`` i.i.d. samples per size
and with as many samples where four known fields were shifted
(``leadscore.monitoring.validity.SHIFTS``). Sizes below the enforced minimum (500) are run with
the minimum lifted, to show why it exists. Writes ``bench/results/drift.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import UTC, datetime
from pathlib import Path

from leadscore.monitoring.drift import DriftThresholds
from leadscore.monitoring.validity import SHIFTS, measure, synthetic_pool

RESULTS = Path(__file__).parent / "results" / "drift.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--references", type=int, default=4)
    parser.add_argument("--reference-rows", type=int, default=3000)
    args = parser.parse_args()
    started = time.monotonic()
    pool, scores, spec = synthetic_pool(100_000, seed=11)
    common = {"repeats": args.repeats, "references": args.references, "reference_rows": args.reference_rows}
    below = measure(pool, scores, spec, sizes=[100, 200], seed=7, thresholds=DriftThresholds(min_rows=1), **common)
    enforced = measure(pool, scores, spec, sizes=[500, 1000, 2000, 5000, 20000], seed=5, **common)
    rows = [{**r.as_dict(), "below_enforced_minimum": r.rows < DriftThresholds().min_rows} for r in below + enforced]
    document = {
        "measured": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(time.monotonic() - started, 1),
        "thresholds": DriftThresholds().model_dump(),
        "shifts": {name: text for name, (text, _) in SHIFTS.items()},
        **common,
        "sizes": rows,
    }
    RESULTS.write_text(json.dumps(document, indent=1) + "\n")
    print(f"{'rows':>6} {'samples':>7} {'false alarm':>11} {'field FA':>9} {'max PSI same':>12} {'exact':>6}")
    for row in rows:
        print(f"{row['rows']:>6} {row['samples']:>7} {row['false_alarm_rate']:>11.3f} "
              f"{row['field_false_alarm_rate']:>9.4f} {row['max_psi_unchanged']:>12.3f} "
              f"{row['exact_detection_rate']:>6.3f}")


if __name__ == "__main__":
    main()
