"""Parse and format whole Series/DataFrames with the vectorized engine, exactly as the single parser would.

Validity is decided with array arithmetic; the single parser is asked only for the wording of
rejected rows, so a frame's ``error`` column reads like the exception a single call raises.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from decimal import Decimal, InvalidOperation
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from spx_pipeline.domain.occ.engine import (
    CENTURY_DAYS,
    DAY_NS,
    FIRST_DAY,
    Decoded,
    Rows,
    assemble,
    expiration_ns,
    root_words,
    tail_words,
)
from spx_pipeline.domain.occ.rules import (
    MAX_STRIKE_MILLI,
    ROOT_WIDTH,
    STYLES,
    OptionSymbolError,
    Style,
    check_style,
    root_problem,
    strike_milli,
    underlying_for_root,
)
from spx_pipeline.domain.occ.symbol import split_fields

_ERRORS_SHOWN: Final = 5


def _symbol_reason(value: object) -> str:
    """The scalar parser's message for a row the vectorized rules rejected."""
    try:
        split_fields(value)
    except OptionSymbolError as exc:
        return str(exc)
    raise RuntimeError(f"vectorized and scalar OCC rules disagree on {value!r}; please report this")


def _describe_rows(labels: Sequence[Hashable], reasons: Sequence[str], total: int, what: str) -> str:
    shown = "; ".join(f"[{label!r}] {reason}" for label, reason in zip(labels, reasons, strict=True))
    more = f" (first {len(reasons)} shown)" if total > len(reasons) else ""
    return f"{total} invalid {what}{more}: {shown}"


def _empty_parsed(index: pd.Index, coerce: bool) -> pd.DataFrame:
    dtypes = {
        "root": object,
        "underlying": object,
        "expiration": "datetime64[ns]",
        "right": object,
        "strike": np.float64,
        "strike_milli": "Int64" if coerce else np.int64,
        "osi": object,
        "tradier": object,
        "massive": object,
    }
    if coerce:
        dtypes["error"] = object
    return pd.DataFrame({name: pd.Series([], dtype=dtype) for name, dtype in dtypes.items()}, index=index)


def parse_option_symbols(symbols: pd.Series, errors: Literal["raise", "coerce"] = "raise") -> pd.DataFrame:
    """Parse a Series of OSI/Tradier/Massive symbols with array arithmetic instead of a loop.

    Accepts and refuses exactly what :func:`parse_option_symbol` does. ``errors="raise"``
    raises :class:`OptionSymbolError` naming the first few bad values and their index labels;
    ``errors="coerce"`` leaves bad rows empty (None/NaT/NaN/<NA>) with the scalar parser's message
    in an extra ``error`` column, and makes ``strike_milli`` the nullable ``Int64`` dtype so the
    dtypes do not depend on whether a batch happened to contain a bad row.
    """
    if errors not in ("raise", "coerce"):
        raise ValueError(f"errors must be 'raise' or 'coerce', got {errors!r}")
    if not isinstance(symbols, pd.Series):
        raise TypeError(f"symbols must be a pandas Series, got {type(symbols).__name__}")
    original = symbols.to_numpy(dtype=object)
    n = len(original)
    if n == 0:
        return _empty_parsed(symbols.index, errors == "coerce")
    buffer = Rows(original)
    rows = Decoded(buffer)
    bad = np.flatnonzero(~rows.ok)
    if len(bad) and errors == "raise":
        first = bad[:_ERRORS_SHOWN]
        reasons = [_symbol_reason(original[i]) for i in first]
        message = _describe_rows(list(symbols.index[first]), reasons, len(bad), "option symbols")
        raise OptionSymbolError(message, symbol=original[first[0]], reason=reasons[0])

    unique_roots = [
        bytes(root).rstrip(b"\0").decode("ascii") if valid else None
        for valid, root in zip(rows.head_ok, rows.head_root, strict=True)
    ]
    underlyings = {root: underlying_for_root(root) for root in set(unique_roots) if root is not None}
    frame = pd.DataFrame(index=symbols.index)
    # Column by column: building from a dict would copy the object columns into one block.
    frame["root"] = np.array(unique_roots, dtype=object)[rows.head_code]
    frame["underlying"] = np.array([underlyings.get(r) for r in unique_roots], dtype=object)[rows.head_code]
    frame["expiration"] = expiration_ns(rows.day_offset)
    frame["right"] = np.array(["P", "C"], dtype=object)[rows.is_call.astype(np.intp)]
    frame["strike"] = rows.milli / 1000.0
    frame["strike_milli"] = rows.milli
    # A batch already written in one style (a Tradier chain, a Massive feed) is that column as it
    # stands: only the other styles need new strings.
    given: set[str] = set()
    if rows.written_as and buffer.verbatim and not len(bad) and set(map(type, original.tolist())) == {str}:
        given = rows.written_as
    plain, padded = root_words(rows.head_root)
    roots = (plain[rows.head_code], padded[rows.head_code])
    symbols_by_style = assemble(roots, rows.first, rows.last, [s for s in STYLES if s not in given])
    for style in given:
        symbols_by_style[style] = original.copy()
    for style in STYLES:
        frame[style] = symbols_by_style[style]
    if errors == "coerce":
        frame["strike_milli"] = frame["strike_milli"].astype("Int64")
        error = np.full(n, None, dtype=object)
        if len(bad):
            frame.iloc[bad, :] = None
            error[bad] = [_symbol_reason(original[i]) for i in bad]
        frame["error"] = error
    return frame


def _milli_column(frame: pd.DataFrame) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_], pd.Series]:
    """Exact strike thousandths from ``strike_milli`` (preferred) or ``strike``, and validity."""
    if "strike_milli" in frame.columns:
        column = frame["strike_milli"]
        values = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        ok = np.isfinite(values) & (values == np.rint(values))
    elif _is_object_column(column := frame["strike"]):
        # Decimals (or mixed objects): exact per-row conversion, the scalar rule as it stands.
        milli = np.zeros(len(column), dtype=np.int64)
        ok = np.zeros(len(column), dtype=bool)
        for i, value in enumerate(column.to_numpy(dtype=object)):
            try:
                milli[i] = strike_milli(_decimal_strike(value))
                ok[i] = True
            except (OptionSymbolError, TypeError, InvalidOperation):
                pass
        return milli, ok, column
    else:
        strikes = pd.to_numeric(column, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        with np.errstate(invalid="ignore", over="ignore"):
            values = np.rint(strikes * 1000)
            # A float is accepted when it is the float nearest a 3-decimal strike, i.e. exactly
            # what Decimal(repr(strike)) would accept; 64.35 passes, 64.3500001 does not.
            ok = np.isfinite(strikes) & (values / 1000 == strikes)
    ok &= (values >= 1) & (values <= MAX_STRIKE_MILLI)
    return np.where(ok, values, 0).astype(np.int64), ok, column


def _is_object_column(column: pd.Series) -> bool:
    return pd.api.types.is_object_dtype(column.dtype)


def _decimal_strike(value: object) -> Decimal:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, Decimal | int | str) and not isinstance(value, bool):
        return Decimal(value)
    raise TypeError(f"strike {value!r} is not a number")


def _strike_reason(value: object, from_milli: bool) -> str:
    if isinstance(value, np.generic):
        value = value.item()
    if from_milli:
        return f"strike_milli {value!r} must be an integer from 1 to {MAX_STRIKE_MILLI}"
    try:
        strike_milli(_decimal_strike(value))
    except OptionSymbolError as exc:
        return str(exc)
    except (TypeError, InvalidOperation):
        pass
    return f"strike {value!r} is not a number"


def format_option_symbols(frame: pd.DataFrame, style: Style = "tradier") -> pd.Series:
    """Write each row of ``frame`` as a symbol in ``style``; the inverse of :func:`parse_option_symbols`.

    ``frame`` needs ``root``, ``expiration`` (dates or midnight timestamps), ``right`` and
    ``strike_milli`` (exact, preferred) or ``strike``. Rows are validated like
    :class:`OptionContract`; any bad row raises :class:`OptionSymbolError` naming the first few
    by index label, because a half-formatted column would be silently wrong downstream.
    """
    check_style(style)
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"frame must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in ("root", "expiration", "right") if c not in frame.columns]
    if "strike_milli" not in frame.columns and "strike" not in frame.columns:
        missing.append("strike_milli (or strike)")
    if missing:
        raise ValueError(f"format_option_symbols needs columns {missing}; got {list(frame.columns)}")
    root_values = frame["root"].to_numpy(dtype=object)
    codes, uniques = pd.factorize(root_values)
    root_problems = [
        root_problem(u) if isinstance(u, str) else f"root {u!r} is not a str" for u in uniques
    ] + ["root is missing"]
    root_table = np.zeros((len(uniques) + 1, ROOT_WIDTH), dtype=np.uint8)
    for i, (u, problem) in enumerate(zip(uniques, root_problems, strict=False)):
        if problem is None:
            root_table[i, : len(u)] = np.frombuffer(u.encode("ascii"), dtype=np.uint8)
    root_ok = np.array([p is None for p in root_problems])[codes]
    plain, padded = root_words(root_table)

    expiration = frame["expiration"]
    try:
        stamps = pd.to_datetime(expiration, errors="coerce")
    except (TypeError, ValueError) as exc:
        raise OptionSymbolError(f"expiration column cannot be read as dates: {exc}") from exc
    if isinstance(stamps.dtype, pd.DatetimeTZDtype):
        raise OptionSymbolError(
            f"expiration must hold dates, not time-zone-aware timestamps ({stamps.dtype})"
        )
    stamps_ns = stamps.to_numpy(dtype="datetime64[ns]")
    ns = stamps_ns.view(np.int64)
    day_offset = ns // DAY_NS - FIRST_DAY
    exp_ok = ~np.isnat(stamps_ns) & (ns % DAY_NS == 0)
    exp_ok &= (day_offset >= 0) & (day_offset < CENTURY_DAYS)

    right = frame["right"].to_numpy(dtype=object)
    is_call = right == "C"
    right_ok = is_call | (right == "P")

    milli, strike_ok, strike_column = _milli_column(frame)
    ok = root_ok & exp_ok & right_ok & strike_ok
    bad = np.flatnonzero(~ok)
    if len(bad):
        from_milli = "strike_milli" in frame.columns
        reasons = []
        for i in bad[:_ERRORS_SHOWN]:
            parts = []
            if not root_ok[i]:
                parts.append(str(root_problems[codes[i]]))
            if not exp_ok[i]:
                parts.append(
                    f"expiration {expiration.iloc[i]!r} must be a date (midnight, no time zone) in 2000-2099"
                )
            if not right_ok[i]:
                parts.append(f"right must be 'C' or 'P', got {right[i]!r}")
            if not strike_ok[i]:
                parts.append(_strike_reason(strike_column.iloc[i], from_milli))
            reasons.append(", ".join(parts))
        message = _describe_rows(list(frame.index[bad[:_ERRORS_SHOWN]]), reasons, len(bad), "contract rows")
        raise OptionSymbolError(message, reason=reasons[0])
    first, last = tail_words(day_offset, is_call, milli)
    symbols = assemble((plain[codes], padded[codes]), first, last, (style,))[style]
    return pd.Series(symbols, index=frame.index, name=style, dtype=object)
