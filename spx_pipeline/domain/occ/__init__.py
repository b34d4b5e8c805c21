"""OCC option symbols in the three spellings this project meets: OSI, Tradier and Massive.

The single-symbol API (:mod:`.symbol`) and the vectorized Series/DataFrame API (:mod:`.frames`,
on the byte-word engine in :mod:`.engine`) accept and refuse exactly the same symbols, because
both apply the field rules of :mod:`.rules`.
"""

from spx_pipeline.domain.occ.frames import format_option_symbols, parse_option_symbols
from spx_pipeline.domain.occ.rules import (
    MASSIVE_PREFIX,
    MAX_STRIKE_MILLI,
    ROOT_UNDERLYING,
    ROOT_WIDTH,
    STYLES,
    TAIL_WIDTH,
    OptionSymbolError,
    Right,
    Style,
    underlying_for_root,
)
from spx_pipeline.domain.occ.symbol import (
    OptionContract,
    format_option_symbol,
    parse_option_symbol,
    to_massive,
    to_osi,
    to_tradier,
)

__all__ = [
    "MASSIVE_PREFIX",
    "MAX_STRIKE_MILLI",
    "ROOT_UNDERLYING",
    "ROOT_WIDTH",
    "STYLES",
    "TAIL_WIDTH",
    "OptionContract",
    "OptionSymbolError",
    "Right",
    "Style",
    "format_option_symbol",
    "format_option_symbols",
    "parse_option_symbol",
    "parse_option_symbols",
    "to_massive",
    "to_osi",
    "to_tradier",
    "underlying_for_root",
]
