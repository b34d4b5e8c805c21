"""Warehouse writes and reads on both backends: one writer, then several writers at once.

Run: ``.venv/bin/python bench/warehouse_backends.py [--publications 120] [--rows 500] [--writers 2]``.
Each publication is one ``replace_rows`` of an option chain (a stage by itself: written and
published in one call), each writer a process of its own (spawned) on one fresh warehouse per
backend. The DuckDB writers queue on the file lock; the Parquet writers do not share a writable
file. Printed as a table; nothing is asserted about time. Also printed: how long one read of the
published chain takes after all publications (the Parquet views read every publication's footer).
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import time
from pathlib import Path

import pandas as pd

from spx_pipeline.storage.warehouse.store import Warehouse


def chain(run_id: str, rows: int) -> pd.DataFrame:
    """``rows`` calls of one 0DTE chain fetch (the primary key is run id and symbol)."""
    symbols = [f"SPXW261124C{6000000 + 5000 * i:08d}" for i in range(rows)]
    day = pd.Timestamp("2026-11-24").date()
    fixed = dict(run_id=run_id, captured_at=pd.Timestamp("2026-11-24T15:30:00Z"), trading_day=day)
    fixed |= dict(root_symbol="SPXW", underlying="SPX", expiration_date=day, option_type="call")
    frame = pd.DataFrame({"symbol": symbols, "symbol_osi": symbols, "symbol_massive": symbols})
    return frame.assign(strike=6000.0, bid=1.25, is_0dte=True, **fixed)


def write(path: str, backend: str, writer: int, publications: int, rows: int) -> None:
    warehouse = Warehouse(path, backend=backend, run_id=f"writer-{writer}", lock_timeout=600.0)
    for n in range(publications):
        frame = chain(f"w{writer}-{n}", rows)
        warehouse.replace_rows("spx_option_chain", frame)


def measure(backend: str, writers: int, publications: int, rows: int) -> tuple[float, float, int]:
    """(wall seconds of all writes, seconds of one read afterwards, rows read)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "warehouse.duckdb")
        Warehouse(path, backend=backend).ensure_schema()
        ctx = multiprocessing.get_context("spawn")
        each = publications // writers
        procs = [ctx.Process(target=write, args=(path, backend, w, each, rows)) for w in range(writers)]
        started = time.perf_counter()
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join()
            assert proc.exitcode == 0, f"{backend} writer failed"
        wall = time.perf_counter() - started
        reader = Warehouse(path, backend=backend)
        started = time.perf_counter()
        count = int(reader.query("SELECT count(*) AS n FROM published.spx_option_chain")["n"].iloc[0])
        read = time.perf_counter() - started
        assert count == each * writers * rows, (backend, count)
        return wall, read, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--publications", type=int, default=120)
    parser.add_argument("--rows", type=int, default=500)
    parser.add_argument("--writers", type=int, default=2)
    args = parser.parse_args()
    print(f"{args.publications} publications of {args.rows} rows each")
    print(f"{'backend':<8} {'writers':>7} {'wall s':>8} {'ms/publication':>15} {'read ms':>8} {'rows':>8}")
    for backend in ("duckdb", "parquet"):
        for writers in sorted({1, args.writers}):
            wall, read, count = measure(backend, writers, args.publications, args.rows)
            per = 1000 * wall / args.publications
            print(f"{backend:<8} {writers:>7} {wall:>8.2f} {per:>15.1f} {1000 * read:>8.1f} {count:>8}")


if __name__ == "__main__":
    main()
