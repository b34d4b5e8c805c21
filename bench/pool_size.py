"""The worker count the balance sync chose, read from its own log line (both sync benches print it)."""

from __future__ import annotations

import logging
import re

POOL_LINE = re.compile(r"account sync: (\d+) workers")


class PoolSize(logging.Handler):
    """A log handler that keeps the last worker count the account sync logged (None until it does)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.workers: int | None = None

    def emit(self, record: logging.LogRecord) -> None:
        found = POOL_LINE.match(record.getMessage())
        if found:
            self.workers = int(found.group(1))
