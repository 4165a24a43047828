"""What the landing sensor remembers between ticks, in its cursor (JSON).

- `reported`: the skips already alerted on ("name: reason"), so each is alerted once;
- `settled`: the keys (kind, name, size, mtime) of files landed or given up on: not asked about
  again, so a tick costs about the same whether the folder holds ten files or a year of them;
- `seen`: every other file's signature and when the sensor first saw it so, for its settle time;
- `asked`: the keys this sensor asked a run for: until then a file has no runs to look up (a
  lost cursor only costs a request Dagster drops, as its run key was used already);
- `days`: the day read from each ready observation file not landed yet ("" for a file of several
  days or none), so a file that waits (its kind's run still queued) is read once, not each tick.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from continual_ml.ingestion.settling import Seen


@dataclass(frozen=True)
class LandingCursor:
    reported: set[str] = field(default_factory=set)
    settled: set[str] = field(default_factory=set)
    seen: dict[str, Seen] = field(default_factory=dict)
    asked: set[str] = field(default_factory=set)
    days: dict[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, cursor: str | None) -> LandingCursor:
        """The state a cursor holds; earlier versions' cursors are read too."""
        if not cursor:
            return cls()
        state = json.loads(cursor)
        if isinstance(state, list):  # the first version: the reported skips alone
            return cls(reported=set(state))
        seen = {name: Seen(*values) for name, values in state.get("seen", {}).items()}
        asked, days = set(state.get("asked", [])), state.get("days", {})
        return cls(set(state["reported"]), set(state["settled"]), seen, asked, days)

    def dump(self) -> str:
        return json.dumps(
            {
                "reported": sorted(self.reported),
                "settled": sorted(self.settled),
                "seen": {name: seen.as_list() for name, seen in sorted(self.seen.items())},
                "asked": sorted(self.asked),
                "days": dict(sorted(self.days.items())),
            }
        )


def run_key(kind: str, name: str, size: int, mtime_ns: int) -> str:
    """The key of one version of a file: a changed file has a new one. Ingestion's sha256 record
    catches a same-content copy under another name, and a retried run."""
    return f"{kind}:{name}:{size}:{mtime_ns}"


def same_file(key: str) -> str:
    """The part of a key that names the file whatever its version: its kind and name."""
    return key.rsplit(":", 2)[0]
