"""A new warehouse file starts as a copy of one this process already made from the same DDL.

Applying the DDL to an empty DuckDB file takes about a tenth of a second (dozens of tables with a
description on every column), and the file it leaves does not depend on where it lives. So a
process that creates many warehouses (the test suite, the demo's and the bench's stores) applies
each DDL once and copies the bytes. The file is staged beside the warehouse (no other folder needs
to be writable), flushed to disk and linked into place only where no file exists yet (``os.link``
refuses otherwise): a file another thread or process created first is never replaced. Where any
of it fails the caller applies the DDL as before, and reports what is wrong as it always did.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from pathlib import Path

import duckdb

from spx_pipeline.storage.warehouse.schema import ddl_digest, ddl_scripts

# DDL digest -> the bytes of a checkpointed DuckDB file with that DDL applied and nothing else.
# Keyed by the DDL's text as read now, so a DDL edited while a process runs is never copied stale.
_BLANKS: dict[str, bytes] = {}


def place_blank(path: Path, ddl_dir: Path) -> bool:
    """Put a blank warehouse of ``ddl_dir``'s DDL at ``path`` when nothing is there; True if it did."""
    staged = path.with_name(f".{path.name}.{uuid.uuid4().hex}.blank")
    try:
        if path.exists() or path.with_name(f"{path.name}.wal").exists():
            return False
        scripts = ddl_scripts(ddl_dir)
        digest = ddl_digest(scripts)
        _remove_leftovers(path)
        data = _BLANKS.get(digest)
        if data is None:  # this process's first: the DDL applied to the staged file itself
            _BLANKS.setdefault(digest, _applied(staged, scripts))
        else:
            _write_synced(staged, data)
        os.link(staged, path)
    # Created meanwhile, no such folder, no hard links, disk full, a DDL file that cannot be read:
    # applying the DDL instead says what is wrong, as it always did.
    except (OSError, ValueError, duckdb.Error):
        return False
    finally:
        for name in (staged, staged.with_name(f"{staged.name}.wal")):
            with contextlib.suppress(OSError, ValueError):
                name.unlink()
    _sync_folder(path.parent)
    return True


def _applied(staged: Path, scripts: list[str]) -> bytes:
    """Apply ``scripts`` to a new DuckDB file at ``staged`` (DuckDB flushes it at the checkpoint)."""
    con = duckdb.connect(str(staged))
    try:
        con.begin()
        for script in scripts:
            con.execute(script)
        con.commit()
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return staged.read_bytes()


def _write_synced(staged: Path, data: bytes) -> None:
    """Write and flush ``data``: a power cut after the link must not leave a file of holes."""
    with open(staged, "xb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def _sync_folder(folder: Path) -> None:
    """Flush the folder's new entry (where the platform lets a folder be opened)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _remove_leftovers(path: Path) -> None:
    """Staged copies a killed process left beside ``path`` (named exactly as ``place_blank`` names
    them, never another file). One left between the link and its own removal is a second name of
    the live file (the data stays under ``path``); one another process is staging right now is only
    a copy: its link then fails and it applies the DDL instead."""
    staged = re.compile(rf"\.{re.escape(path.name)}\.[0-9a-f]{{32}}\.blank(\.wal)?")
    with os.scandir(path.parent) as entries:
        leftovers = [entry.path for entry in entries if staged.fullmatch(entry.name)]
    for leftover in leftovers:
        with contextlib.suppress(OSError):
            os.unlink(leftover)
