"""The analyst queries shipped in ``sql/queries``: their names and their text.

Both the writer's warehouse (``store``) and the analysts' catalog (``analyst``) run them as they
stand, so they live below both instead of in either.
"""

from __future__ import annotations

import re

from spx_pipeline.storage.paths import QUERIES_DIR
from spx_pipeline.storage.warehouse.base import WarehouseError

_QUERY_NAME = re.compile(r"^[a-z0-9_]+$")


def query_names() -> list[str]:
    """Names of the analyst queries shipped in ``sql/queries``."""
    return sorted(p.stem for p in QUERIES_DIR.glob("*.sql"))


def read_named_query(name: str) -> str:
    """The SQL of ``sql/queries/<name>.sql``; a name that is not one of them is refused."""
    if not _QUERY_NAME.match(name or "") or not (QUERIES_DIR / f"{name}.sql").is_file():
        raise WarehouseError(f"no analyst query named {name!r}; available: {', '.join(query_names())}")
    return (QUERIES_DIR / f"{name}.sql").read_text(encoding="utf-8")
