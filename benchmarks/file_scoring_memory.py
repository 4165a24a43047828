"""`continual-ml score --local` on a larger Parquet file alone: peak RSS against the 1M-row run
of `benchmarks.file_scoring`, when the machine has no room for the whole comparison.

    python -m benchmarks.file_scoring_memory 3000000 > benchmarks/results/file_scoring_local_3m.json
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from benchmarks.file_scoring import CACHE, CLI, champion, timed_process
from benchmarks.ingestion import generate
from benchmarks.stamp import stamp


def main() -> None:
    rows = int(sys.argv[1])
    source = generate(rows, "parquet", CACHE)
    results = []
    with tempfile.TemporaryDirectory() as folder:
        scratch = Path(folder)
        champion(scratch / "bentoml")
        env = {**os.environ, "BENTOML_HOME": str(scratch / "bentoml")}
        for case, suffix in (("local", "csv"), ("local_parquet", "parquet")):
            target = scratch / f"out.{suffix}"
            command = [*CLI, "score", str(source), "--local", "--output", str(target)]
            figures = timed_process([*command, "--no-progress"], env)
            results.append({"case": case, "rows": rows, **figures})
            results[-1]["rows_per_s"] = rows / figures["seconds"]
            target.unlink()
    print(json.dumps({"stamp": stamp(), "results": results}, indent=1))


if __name__ == "__main__":
    main()
