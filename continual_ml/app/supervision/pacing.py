"""A check called on every turn of a loop but done at most once per interval."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Pace:
    """`due()` is true at most once per `seconds` of `clock`, the first time at once."""

    seconds: float
    clock: Callable[[], float] = time.monotonic
    next_at: float = 0.0

    def due(self) -> bool:
        now = self.clock()
        if now < self.next_at:
            return False
        self.next_at = now + self.seconds
        return True

    def again_in(self, seconds: float) -> None:
        """Be due after `seconds` instead of the full interval."""
        self.next_at = self.clock() + seconds
