"""The `continual-ml` command line: the parser, and one handler per subcommand."""

from __future__ import annotations

import sys
import warnings

from continual_ml.app.cli import champion, data, home, processes
from continual_ml.app.cli.parser import build_parser
from continual_ml.app.errors import log_failure, one_line
from continual_ml.config import Paths

# Each takes the parsed arguments and the home's paths, and returns the exit code.
HANDLERS = {
    "demo": home.demo,
    "up": processes.up,
    "status": home.status,
    "init": home.init,
    "bootstrap": home.bootstrap,
    "validate": home.validate,
    "dagster-dev": home.dagster_dev,
    "ingest": data.ingest,
    "backfill": data.backfill,
    "score": data.score,
    "rollback": champion.rollback,
    "approve": champion.decide,
    "reject": champion.decide,
    "worker": processes.worker,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    paths = Paths.from_env()
    # Library notices (beta APIs, deprecations in dependencies) are for us, not for the user.
    warnings.filterwarnings("ignore")
    try:
        return HANDLERS[args.command](args, paths)
    except Exception as error:
        where = log_failure(paths, args.command, error)
        print(f"continual-ml {args.command}: {one_line(error)} (details: {where})", file=sys.stderr)
        return 1
