"""A new warehouse file starts as a copy of one this process already made from the same DDL.

Applying the DDL to an empty DuckDB file takes about a tenth of a second (dozens of tables with a
description on every column), and the file it leaves does not depend on where it lives. So a
process that creates many warehouses (the test suite, the demo's and the bench's stores) applies
each DDL once and copies the bytes. The copy is linked into place only where no file exists yet
(``os.link`` refuses otherwise): a file another thread or process created first is never replaced.
Where linking fails for any other reason the caller applies the DDL as before.
"""

from __future__ import annotations

import os
import tempfile
import threading
import uuid
from pathlib import Path

import duckdb

from spx_pipeline.storage.warehouse.schema import ddl_scripts, warehouse_schema

# DDL digest -> the bytes of a checkpointed DuckDB file with that DDL applied and nothing else.
_BLANKS: dict[str, bytes] = {}
_MAKING = threading.Lock()


def place_blank(path: Path, ddl_dir: Path) -> bool:
    """Put a blank warehouse of ``ddl_dir``'s DDL at ``path`` when nothing is there; True if it did."""
    if path.exists() or path.with_name(f"{path.name}.wal").exists():
        return False
    data = _blank_bytes(ddl_dir)
    staged = path.with_name(f".{path.name}.{uuid.uuid4().hex}.blank")
    try:
        staged.write_bytes(data)
    except OSError:  # no such folder, not writable: applying the DDL says what is wrong
        return False
    try:
        os.link(staged, path)
    except OSError:  # created meanwhile, or no hard links here: the DDL is applied instead
        return False
    finally:
        staged.unlink(missing_ok=True)
    return True


def _blank_bytes(ddl_dir: Path) -> bytes:
    digest = warehouse_schema(ddl_dir).digest
    with _MAKING:
        if digest not in _BLANKS:
            with tempfile.TemporaryDirectory(prefix="spx-blank-warehouse-") as scratch:
                made = Path(scratch) / "blank.duckdb"
                con = duckdb.connect(str(made))
                try:
                    con.begin()
                    for script in ddl_scripts(ddl_dir):
                        con.execute(script)
                    con.commit()
                    con.execute("CHECKPOINT")
                finally:
                    con.close()
                _BLANKS[digest] = made.read_bytes()
        return _BLANKS[digest]
