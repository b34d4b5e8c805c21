"""What a new, empty warehouse costs: the DDL applied to a new file against a copy of the process's blank.

Run: ``.venv/bin/python bench/warehouse_create.py [--count 20]``.

``Warehouse.ensure_schema`` on a path where nothing is yet: every table, its descriptions and the
analysts' catalog (views, their descriptions, empty schema files). A process that creates many
warehouses (the test suite, the demo's and the bench's stores) copies a blank file it made once
from the same DDL (``storage/warehouse/blank.py``) and exports the catalog's empty Parquet files
once per DDL. The two ways alternate, ``--count`` warehouses each, in one process, on the temporary
directory (``TMPDIR``); the table gives the median of each, what the catalog took of it, and the
ratio. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

from spx_pipeline.storage.warehouse import analyst, store
from spx_pipeline.storage.warehouse.store import Warehouse

APPLIED, BLANK = "DDL applied to each new file", "copy of the blank"


class _Forgetful(dict[str, dict[str, bytes]]):
    """A memo that keeps nothing: the schema files are exported for every catalog, as before."""

    def setdefault(self, key: str, default: dict[str, bytes] | None = None) -> dict[str, bytes]:
        return default or {}


@contextmanager
def applied_each_time() -> Iterator[None]:
    """The way before the blank: the DDL applied to every new file, the schema files exported each time."""
    with (
        mock.patch.object(store, "place_blank", lambda path, ddl_dir: False),
        mock.patch.object(analyst, "_SCHEMA_FILES", _Forgetful()),
    ):
        yield


def timed_catalog() -> tuple[list[float], Callable[..., bool]]:
    """``ensure_catalog`` that records how long each call took."""
    took: list[float] = []
    original = store.ensure_catalog

    def ensure(*args: object) -> bool:
        began = time.perf_counter()
        try:
            return original(*args)  # type: ignore[arg-type]
        finally:
            took.append(time.perf_counter() - began)

    return took, ensure


def create(root: Path, name: str) -> tuple[float, float]:
    """Seconds for ``ensure_schema`` on a new path, and the catalog's part of them."""
    took, ensure = timed_catalog()
    with mock.patch.object(store, "ensure_catalog", ensure):
        warehouse = Warehouse(root / name / "warehouse.duckdb")
        warehouse.path.parent.mkdir()
        began = time.perf_counter()
        warehouse.ensure_schema()
        seconds = time.perf_counter() - began
        warehouse.release()
    return seconds, sum(took)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=20, help="warehouses made each way (default 20)")
    args = parser.parse_args()
    results: dict[str, list[tuple[float, float]]] = {
        "DDL applied to each new file": [],
        "copy of the blank": [],
    }
    with tempfile.TemporaryDirectory(prefix="spx-bench-warehouse-") as tmp:
        root = Path(tmp)
        create(root, "warm-up")  # the imports, the schema parse and the blank itself: paid once
        for i in range(args.count):
            with applied_each_time():
                results[APPLIED].append(create(root, f"applied-{i}"))
            results[BLANK].append(create(root, f"blank-{i}"))
    base = statistics.median(s for s, _ in results[APPLIED])
    print(f"ensure_schema on a new path, {args.count} warehouses each way, alternating, median\n")
    print("| way | ms | of which the catalog, ms | ÷ DDL applied |")
    print("|---|---:|---:|---:|")
    for way, rows in results.items():
        seconds = statistics.median(s for s, _ in rows)
        catalog = statistics.median(c for _, c in rows)
        print(f"| {way} | {seconds * 1000:.1f} | {catalog * 1000:.1f} | {seconds / base:.2f} |")


if __name__ == "__main__":
    main()
