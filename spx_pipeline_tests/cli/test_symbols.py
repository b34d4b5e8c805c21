"""``spx-pipeline symbols convert`` through the real CLI entry point."""

from __future__ import annotations

import io

import pytest

from spx_pipeline.cli import main


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("osi", ["SPXW  251219C06000000", "AAPL1 250117C00150000", "F     250117P00012500"]),
        ("tradier", ["SPXW251219C06000000", "AAPL1250117C00150000", "F250117P00012500"]),
        ("massive", ["O:SPXW251219C06000000", "O:AAPL1250117C00150000", "O:F250117P00012500"]),
    ],
)
def test_convert_arguments(style: str, expected: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "symbols",
            "convert",
            "--to",
            style,
            "O:SPXW251219C06000000",
            "AAPL1 250117C00150000",
            "F250117P00012500",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0
    assert out.splitlines() == expected
    assert err == ""


def test_convert_reads_stdin_skipping_blank_lines(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("SPXW  251219C06000000\n\n  NDXP251219C21000500 \n"))
    assert main(["symbols", "convert", "--to", "massive"]) == 0
    assert capsys.readouterr().out.splitlines() == ["O:SPXW251219C06000000", "O:NDXP251219C21000500"]


def test_invalid_symbols_exit_2_with_reasons(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(
        "sys.stdin", io.StringIO("SPY251219C00500000\nSPY251301C00500000\nspy251219c00500000\n")
    )
    assert main(["symbols", "convert", "--to", "osi"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert "2 invalid option symbol(s)" in err
    assert "line 2: 'SPY251301C00500000': month 13 is not a real month" in err
    assert "line 3: 'spy251219c00500000'" in err


def test_invalid_argument_is_named_by_position(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["symbols", "convert", "--to", "tradier", "SPY251219C00500000", "XYZ251219C123456789"]) == 2
    err = capsys.readouterr().err
    assert "argument 2: 'XYZ251219C123456789': strike field '123456789' has 9 digits" in err


def test_empty_input_is_an_error(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("\n\n"))
    assert main(["symbols", "convert", "--to", "osi"]) == 2
    assert "no symbols given" in capsys.readouterr().err


def test_unknown_style_is_refused_by_argparse(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["symbols", "convert", "--to", "schwab", "SPY251219C00500000"])
    assert info.value.code == 2
    assert "schwab" in capsys.readouterr().err
