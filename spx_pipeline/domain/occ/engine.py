"""The vectorized engine: a batch of symbols as one byte buffer, read and written eight bytes at a time.

Each row is read as three 8-byte words: the head (root, with any OSI padding, after "O:"), the
word ending in C|P (YYMMDD before it) and the strike field. Digit rules and values are word
arithmetic, the date one table lookup, and the root rules run once per distinct head. Output
strings are written as three words per row and split out of one decoded buffer, so Python-level
work per row is limited to creating the output strings, which is where most of the time goes.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from spx_pipeline.domain.occ.rules import MASSIVE_PREFIX, MAX_BODY, MAX_STRIPPED, ROOT_WIDTH, TAIL_WIDTH

_LONG_INPUT: Final = 32  # longer raw strings are stripped in Python first, bounding the strip loop
_SPACE, _ZERO, _NEWLINE = ord(" "), ord("0"), ord("\n")
_HEAD_COLS: Final = np.arange(ROOT_WIDTH)
# The ASCII characters str.strip() removes (str.isspace: \t-\r, \x1c-\x1f and space); rows with
# any non-ASCII character are stripped by str.strip itself before they reach the byte buffer.
_ASCII_WHITESPACE: Final = np.array([chr(c).isspace() for c in range(256)]) & (np.arange(256) < 128)
# Bytes around the joined buffer, so that fixed-size windows at any row's start or end stay inside.
_PAD: Final = 24
DAY_NS: Final = 86_400 * 10**9
# Word constants for eight ASCII bytes at a time (see _all_digits, _eight_digits, Decoded).
_ASCII_ZEROS: Final = np.uint64(0x3030303030303030)
_ABOVE_NINE: Final = np.uint64(0x4646464646464646)
_HIGH_BITS: Final = np.uint64(0x8080808080808080)
_DATE_BYTES: Final = np.uint64(0xFFFFFFFFFFFF0000)
_TWO_ZEROS: Final = np.uint64(0x3030)
_SWAR: Final = tuple(
    np.uint64(mask)
    for mask in (
        0x0F000F000F000F00,
        0x000F000F000F000F,
        0x00FF000000FF0000,
        0x000000FF000000FF,
        0x0000FFFF00000000,
        0x000000000000FFFF,
    )
)
_MASSIVE_WORD: Final = np.uint64(int.from_bytes(MASSIVE_PREFIX.encode("ascii"), "little"))
# Keeps the first k bytes of a little-endian word: the root's head_len characters.
_HEAD_MASKS: Final = np.array([(1 << (8 * k)) - 1 for k in range(ROOT_WIDTH + 1)], dtype=np.uint64)
FIRST_DAY: Final = int(np.datetime64("2000-01-01", "D").astype(np.int64))
CENTURY_DAYS: Final = (date(2100, 1, 1) - date(2000, 1, 1)).days  # expiries 2000-2099
# "0000"-"9999" as 4-byte little-endian words, first digit in the lowest byte.
_FOUR_DIGIT_WORDS: Final = (
    (np.arange(10_000)[:, None] // np.array([1000, 100, 10, 1]) % 10 + _ZERO)
    .astype(np.uint8)
    .view("<u4")
    .reshape(10_000)
    .astype(np.uint64)
)


def _windows(buffer: npt.NDArray[np.uint8], width: int) -> npt.NDArray[np.uint8]:
    """Read-only view whose row i is ``buffer[i:i + width]``: one fancy index then gathers many rows."""
    return np.lib.stride_tricks.as_strided(
        buffer, shape=(len(buffer) - width + 1, width), strides=(1, 1), writeable=False
    )


class Rows:
    """A batch as one ASCII byte buffer with each row's stripped [start, end) in it.

    Joining the strings and encoding once costs a few nanoseconds per character, where converting
    an object array to a fixed-width NumPy string array costs a Python-object round trip per row.
    ``usable`` is False for rows that cannot be symbols before any rule is applied: non-strings,
    and rows still non-ASCII or too long once stripped (those become "" in the buffer).
    """

    __slots__ = ("buffer", "ends", "starts", "usable", "verbatim")

    def __init__(self, values: npt.NDArray[np.object_]) -> None:
        n = len(values)
        self.usable = np.ones(n, dtype=bool)
        if pd.api.types.infer_dtype(values, skipna=False) != "string":
            is_str = np.fromiter((isinstance(v, str) for v in values), dtype=bool, count=n)
            values = np.where(is_str, values, "")
            self.usable &= is_str
        items: list[str] = values.tolist()
        pad = b"\0" * _PAD
        # Usual batch: ASCII, no NUL inside a string, nothing over-long. Joining with NUL then
        # finds every row boundary in one vector scan instead of a len() call per row.
        joined = "\0".join(items)
        if joined.isascii():
            encoded = joined.encode("ascii")
            separators = np.flatnonzero(np.frombuffer(encoded, dtype=np.uint8) == 0)
            if len(separators) == n - 1:
                ends = np.append(separators, len(encoded))
                starts = np.insert(separators + 1, 0, 0)
                if (ends - starts).max() <= _LONG_INPUT:
                    self.buffer = np.frombuffer(pad + encoded + pad, dtype=np.uint8)
                    self.starts, self.ends = starts + _PAD, ends + _PAD
                    self.verbatim = not self._strip()
                    return
        lengths = np.fromiter(map(len, items), dtype=np.int64, count=n)
        odd = lengths > _LONG_INPUT
        if not joined.isascii():
            odd |= np.fromiter((not s.isascii() for s in items), dtype=bool, count=n)
        for i in np.flatnonzero(odd):
            stripped = items[i].strip()
            if len(stripped) > MAX_STRIPPED or not stripped.isascii():
                stripped = ""
                self.usable[i] = False
            items[i] = stripped
            lengths[i] = len(stripped)
        self.buffer = np.frombuffer(pad + "".join(items).encode("ascii") + pad, dtype=np.uint8)
        self.ends = np.cumsum(lengths) + _PAD
        self.starts = self.ends - lengths
        self._strip()
        self.verbatim = False

    def _strip(self) -> bool:
        """str.strip for ASCII whitespace, one character per step over the rows that still have some.

        Returns whether any row had whitespace to remove.
        """
        buffer, starts, ends, blank = self.buffer, self.starts, self.ends, _ASCII_WHITESPACE
        rows = np.flatnonzero(blank[buffer[starts]] & (starts < ends))
        stripped = bool(len(rows))
        while len(rows):
            starts[rows] += 1
            rows = rows[(starts[rows] < ends[rows]) & blank[buffer[starts[rows]]]]
        rows = np.flatnonzero(blank[buffer[ends - 1]] & (starts < ends))
        stripped |= bool(len(rows))
        while len(rows):
            ends[rows] -= 1
            rows = rows[(starts[rows] < ends[rows]) & blank[buffer[ends[rows] - 1]]]
        return stripped


def _all_digits(words: npt.NDArray[np.uint64]) -> npt.NDArray[np.bool_]:
    """Whether all 8 bytes of each word are ASCII digits (bytes below 0x80 only).

    Adding 0x46 sets a byte's high bit when it is above '9'; subtracting 0x30 sets it when it is
    below '0' (a borrow may also flag its neighbour, which is already invalid then).
    """
    return ((words + _ABOVE_NINE) | (words - _ASCII_ZEROS)) & _HIGH_BITS == 0


def _eight_digits(words: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """The number 8 ASCII digits spell (first character in the lowest byte): 2, 4, then 8 at a time."""
    words = ((words & _SWAR[0]) >> np.uint64(8)) + (words & _SWAR[1]) * np.uint64(10)
    words = ((words & _SWAR[2]) >> np.uint64(16)) + (words & _SWAR[3]) * np.uint64(100)
    return ((words & _SWAR[4]) >> np.uint64(32)) + (words & _SWAR[5]) * np.uint64(10_000)


@functools.cache
def _day_tables() -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.int32]]:
    """Built on first use (a few ms, kept out of import): for each day since 2000-01-01 through
    2099 its "YYMMDD" bytes as a word, and for every YYMMDD read as a number its day, or -1 for
    an impossible date."""
    yymmdd = (
        (np.datetime64("2000-01-01", "D") + np.arange(CENTURY_DAYS))
        .astype("S10")
        .view(np.uint8)
        .reshape(CENTURY_DAYS, 10)[:, [2, 3, 5, 6, 8, 9]]
    )
    words = np.ascontiguousarray(np.pad(yymmdd, ((0, 0), (0, 2)))).view("<u8").reshape(CENTURY_DAYS)
    digits = yymmdd.astype(np.int32) - _ZERO
    keys = ((digits[:, 0] * 10 + digits[:, 1]) * 100 + digits[:, 2] * 10 + digits[:, 3]) * 100
    keys += digits[:, 4] * 10 + digits[:, 5]
    table = np.full(1_000_000, -1, dtype=np.int32)
    table[keys] = np.arange(CENTURY_DAYS, dtype=np.int32)
    return words, table


def _head_rules(heads: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.uint8]]:
    """Validity and 0-padded root bytes of each distinct head key (see ``Decoded``)."""
    packed = heads.view(np.uint8).reshape(len(heads), 8)
    head = np.ascontiguousarray(packed[:, :ROOT_WIDTH].T)
    massive = packed[:, 6] == 1
    head_len = packed[:, 7].astype(np.intp)
    in_head = _HEAD_COLS[:, None] < head_len
    ok = (head_len >= 1) & (head_len <= ROOT_WIDTH)

    # Spaces only as OSI padding: one run up to column 6, 21 characters, no "O:" prefix.
    space = head == _SPACE
    any_space = np.logical_or.reduce(space, axis=0)
    padded = ~massive & (head_len == ROOT_WIDTH)
    for j in range(1, ROOT_WIDTH):
        padded &= ~space[j - 1] | space[j]
    ok &= ~any_space | padded
    root = np.where(space, np.uint8(0), head)
    upper = (root >= ord("A")) & (root <= ord("Z"))
    alnum = upper | ((root >= _ZERO) & (root <= ord("9")))
    ok &= np.logical_and.reduce(alnum | ~in_head | space, axis=0)
    ok &= upper[0]
    return ok, np.where(ok[:, None], root.T, np.uint8(0))


def _spellings(heads: npt.NDArray[np.int64], roots: npt.NDArray[np.uint8]) -> set[str]:
    """The styles that every head of the batch is already written in (a 6-character root's
    unprefixed symbol is both OSI and Tradier)."""
    packed = heads.view(np.uint8).reshape(len(heads), 8)
    massive = packed[:, 6] == 1
    head_len = packed[:, 7]
    spellings = {
        "massive": massive,
        "osi": ~massive & (head_len == ROOT_WIDTH),
        "tradier": ~massive & (np.count_nonzero(roots, axis=1) == head_len),
    }
    return {style for style, written in spellings.items() if written.all()}


class Decoded:
    """Per-row fields of a batch; only rows where ``ok`` holds carry meaningful values.

    Each row is read as three 8-byte words: the one starting at the root (after "O:" if any),
    the one ending with the C/P character (YYMMDD in its bytes 1-6) and the strike field. Digit
    rules and values are word arithmetic; the root rules run once per distinct head, because a
    batch holds few roots. ``root`` (0 past its end) and ``tail`` (the last 15 characters) are
    row-major bytes for assembling output strings; rejected rows read as an empty root and a
    tail of zeros, so that assembling them can never misplace a row.
    """

    __slots__ = (
        "day_offset",
        "first",
        "head_code",
        "head_ok",
        "head_root",
        "is_call",
        "last",
        "milli",
        "ok",
        "written_as",
    )

    def __init__(self, rows: Rows) -> None:
        buffer, starts, ends = rows.buffer, rows.starts, rows.ends
        n = len(starts)
        ok = rows.usable.copy()
        length = ends - starts
        massive = (
            (length >= len(MASSIVE_PREFIX)) & (buffer[starts] == ord("O")) & (buffer[starts + 1] == ord(":"))
        )
        head_len = length - np.where(massive, len(MASSIVE_PREFIX), 0) - TAIL_WIDTH
        ok &= (head_len >= 1) & (head_len <= ROOT_WIDTH)
        head_len = np.where(ok, head_len, 0)

        words = _windows(buffer, 8)
        lead = words[starts + np.where(massive, len(MASSIVE_PREFIX), 0)].view("<u8").reshape(n)
        key = (lead & _HEAD_MASKS[head_len]) | (massive.astype(np.uint64) << np.uint64(48))
        key |= head_len.astype(np.uint64) << np.uint64(56)
        self.head_code, heads = pd.factorize(key.view(np.int64))
        heads = np.asarray(heads, dtype=np.int64)
        self.head_ok, self.head_root = _head_rules(heads)
        self.written_as = _spellings(heads, self.head_root)
        ok &= self.head_ok[self.head_code]

        dated = words[ends - TAIL_WIDTH - 1].view("<u8").reshape(n)  # ?YYMMDD then C|P
        strike = words[ends - 8].view("<u8").reshape(n)
        right = (dated >> np.uint64(56)).astype(np.uint8)
        is_call = right == ord("C")
        ok &= is_call | (right == ord("P"))
        yymmdd = ((dated << np.uint64(8)) & _DATE_BYTES) | _TWO_ZEROS  # "00YYMMDD"
        ok &= _all_digits(yymmdd) & _all_digits(strike)
        day_offset = _day_tables()[1][np.where(ok, _eight_digits(yymmdd), 0)]
        ok &= day_offset >= 0
        milli = _eight_digits(strike).astype(np.int64)
        ok &= milli > 0

        first = (dated >> np.uint64(8)) | ((strike & np.uint64(0xFF)) << np.uint64(56))
        last = strike >> np.uint64(8)
        if not ok.all():
            first = np.where(ok, first, _ASCII_ZEROS)
            last = np.where(ok, last, _ASCII_ZEROS >> np.uint64(8))
        self.ok = ok
        self.first, self.last = first, last
        self.day_offset = np.where(ok, day_offset, 0)
        self.is_call = is_call
        self.milli = np.where(ok, milli, 0)


def tail_words(
    day_offset: npt.NDArray[np.int64], is_call: npt.NDArray[np.bool_], milli: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    """The tail words (see ``assemble``) of valid rows, from lookup tables.

    Gathering a few bytes per row (YYMMDD per day, four digits per 0-9999) is far cheaper than
    a division per digit.
    """
    strike = _FOUR_DIGIT_WORDS[milli // 10_000] | (_FOUR_DIGIT_WORDS[milli % 10_000] << np.uint64(32))
    right = np.where(is_call, np.uint64(ord("C")), np.uint64(ord("P")))
    first = (
        _day_tables()[0][day_offset]
        | (right << np.uint64(48))
        | ((strike & np.uint64(0xFF)) << np.uint64(56))
    )
    return first, strike >> np.uint64(8)


def root_words(root: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    """Each 0-padded 6-byte root as a little-endian word, and the same padded with spaces (OSI)."""
    packed = np.zeros((len(root), 8), dtype=np.uint8)
    packed[:, :ROOT_WIDTH] = root
    plain = packed.view("<u8").reshape(len(root)).copy()
    packed[:, :ROOT_WIDTH] = np.where(root == 0, np.uint8(_SPACE), root)
    return plain, packed.view("<u8").reshape(len(root))


def _split_rows(text: str, separator: str, n: int) -> npt.NDArray[np.object_]:
    """The ``n`` pieces of ``text`` between separators, as an object array.

    Splitting one decoded buffer creates the strings in a single C loop, faster than converting a
    fixed-width NumPy array to objects (which scans each element for its width and kind).
    """
    return np.fromiter(text.split(separator), dtype=object, count=n)


def assemble(
    roots: tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]],
    first: npt.NDArray[np.uint64],
    last: npt.NDArray[np.uint64],
    styles: Sequence[str],
) -> dict[str, npt.NDArray[np.object_]]:
    """Symbols in each of ``styles``, written as three 8-byte words per row and split once.

    ``roots`` are the row's root words from :func:`root_words` (plain, OSI-padded); ``first``
    holds tail characters 0-7 (YYMMDD, C|P, first strike digit) and ``last`` characters 8-14 with
    a zero top byte. Tradier and Massive come from one buffer of ``O:<root><tail>`` lines:
    splitting it at newlines gives the Massive tickers, and splitting after the first prefix at
    ``\nO:`` the Tradier ones. Zero bytes (the plain root's padding) are dropped before decoding.
    """
    plain, padded = roots
    n = len(first)
    out: dict[str, npt.NDArray[np.object_]] = {}
    words = np.empty((n, 3), dtype=np.uint64)
    if "osi" in styles:
        # 21 characters and a newline: root(6) tail 0-1 | tail 2-9 | tail 10-14 "\n" and 2 spare.
        words[:, 0] = padded | (first << np.uint64(48))
        words[:, 1] = (first >> np.uint64(16)) | (last << np.uint64(48))
        words[:, 2] = (last >> np.uint64(16)) | np.uint64(_NEWLINE << 40)
        lines = words.view(np.uint8).reshape(n, 24)[:, : MAX_BODY + 1].tobytes()
        out["osi"] = _split_rows(lines.decode("ascii")[:-1], "\n", n)
    unpadded = [style for style in styles if style != "osi"]
    if unpadded:
        massive = "massive" in unpadded
        words[:, 0] = (plain << np.uint64(16)) | _MASSIVE_WORD if massive else plain
        words[:, 1] = first
        words[:, 2] = last | np.uint64(_NEWLINE << 56)
        text = words.tobytes().replace(b"\0", b"").decode("ascii")[:-1]
        if massive:
            out["massive"] = _split_rows(text, "\n", n)
            if "tradier" in unpadded:
                out["tradier"] = _split_rows(text[len(MASSIVE_PREFIX) :], "\n" + MASSIVE_PREFIX, n)
        else:
            out["tradier"] = _split_rows(text, "\n", n)
    return out


def expiration_ns(day_offset: npt.NDArray[np.integer]) -> npt.NDArray[np.datetime64]:
    return (day_offset + FIRST_DAY).astype("datetime64[D]").astype("datetime64[ns]")
