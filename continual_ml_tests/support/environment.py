"""This process's environment with some variables set for a block, restored after it."""

import os
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def variables_set(values: dict[str, str]) -> Iterator[None]:
    """`values` in `os.environ` until the block ends; each variable then as it was (or unset)."""
    before = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
