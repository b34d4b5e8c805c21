"""Option symbol parsing for the emulator, preferring the project's own OCC parser.

``spx_pipeline.domain.occ`` is the source of truth; until it is importable (or if it rejects a
symbol) a strict regex for the compact Tradier/OCC form keeps the server usable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

_COMPACT = re.compile(r"^(?P<root>[A-Z][A-Z0-9]{0,5})(?P<ymd>\d{6})(?P<right>[CP])(?P<strike>\d{8})$")

UNDERLYING_FOR_ROOT: dict[str, str] = {"SPXW": "SPX", "SPX": "SPX", "RUTW": "RUT", "NDXP": "NDX"}


@dataclass(frozen=True, slots=True)
class ParsedOption:
    root: str
    expiration: date
    right: str  # "C" or "P"
    strike: Decimal

    @property
    def underlying(self) -> str:
        return UNDERLYING_FOR_ROOT.get(self.root, self.root)

    @property
    def tradier(self) -> str:
        milli = int(self.strike * 1000)
        return f"{self.root}{self.expiration:%y%m%d}{self.right}{milli:08d}"


def parse_option(text: str) -> ParsedOption:
    """Parse an option symbol; ValueError naming the symbol when it is not one."""
    try:
        from spx_pipeline.domain import occ
    except ImportError:
        occ = None  # type: ignore[assignment]
    if occ is not None:
        contract = occ.parse_option_symbol(text)
        return ParsedOption(contract.root, contract.expiration, contract.right, Decimal(contract.strike))
    match = _COMPACT.match(text.strip().upper())
    if match is None:
        raise ValueError(f"option symbol {text!r} is not ROOT+YYMMDD+C/P+8-digit strike")
    ymd = match["ymd"]
    try:
        expiration = date(2000 + int(ymd[:2]), int(ymd[2:4]), int(ymd[4:]))
    except ValueError as exc:
        raise ValueError(f"option symbol {text!r} has an invalid expiration {ymd!r}") from exc
    strike = Decimal(int(match["strike"])) / 1000
    if strike <= 0:
        raise ValueError(f"option symbol {text!r} has a zero strike")
    return ParsedOption(match["root"], expiration, match["right"], strike.normalize())
