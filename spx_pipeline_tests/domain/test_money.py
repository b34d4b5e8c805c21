"""domain.money: the one number parser (``to_decimal``) and the money rules on top of it."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

from spx_pipeline.domain.money import INPUT_WORDING, MAX_MONEY, NumberWording, to_decimal, to_money


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (5, Decimal(5)),
        (" 1.25 ", Decimal("1.25")),
        (0.1, Decimal("0.1")),
        (np.float64(0.1), Decimal("0.1")),
        (np.int64(7), Decimal(7)),
        (Decimal("-2.5"), Decimal("-2.5")),
    ],
)
def test_to_decimal_reads_exactly(value: object, expected: Decimal) -> None:
    assert to_decimal(value, "f") == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "--max must be a number, got bool True"),
        ("lots", "--max is not a number: 'lots'"),
        ([1], "--max must be a Decimal, int, str or float, got list [1]"),
        ("nan", "--max must be finite, got 'nan'"),
        ("-5", "--max must not be negative, got '-5'"),
        ("1e13", f"--max must be at most {MAX_MONEY:,}, got '1e13'"),
    ],
)
def test_to_money_words_refusals_for_people(value: object, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        to_money(value, "--max")  # type: ignore[arg-type]
    assert str(caught.value) == message


def test_to_decimal_takes_the_callers_wording_and_error() -> None:
    class Refused(Exception):
        pass

    wording = NumberWording(
        boolean="b {field}", not_a_number="n {field} {value!r}", wrong_type="t {kind}", not_finite="f {value}"
    )
    for value, message in ((False, "b x"), ("?", "n x '?'"), (None, "t NoneType"), ("inf", "f inf")):
        with pytest.raises(Refused) as caught:
            to_decimal(value, "x", wording=wording, error=Refused)
        assert str(caught.value) == message
    assert INPUT_WORDING.not_a_number.format(field="x", value="?", kind="str") == "x is not a number: '?'"
