"""The secrets module's fast paths give what the full rules give: same refusals, same spellings.

``check_token_text`` accepts printable ASCII with one regular expression before its character
loop, ``secret_spellings`` skips the escaped forms of a token no escaping changes, and
``SecretToken.decrypted`` reads a stored token once for a run. Each is compared here with the
rule it shortcuts (the reference is the same function with its shortcut's pattern made to never match).
"""

from __future__ import annotations

import pickle
import re
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spx_pipeline.broker import secrets
from spx_pipeline.broker.secrets import (
    MAX_TOKEN_LENGTH,
    Redactor,
    SecretToken,
    check_token_text,
    secret_spellings,
)
from spx_pipeline_tests.fixtures.secrets import CountedStore

_NEVER = re.compile(r"(?!)")


def outcome(token: str) -> str | None:
    """``check_token_text``'s refusal of ``token`` (its message), or None when it accepts it."""
    try:
        check_token_text(token)
    except ValueError as exc:
        return str(exc)
    return None


def reference_check(token: str) -> str | None:
    """``check_token_text`` without its fast path (the plain-token match never matches): the full
    rules' refusal, or None."""
    with mock.patch.object(secrets, "_PLAIN_TOKEN", _NEVER):
        return outcome(token)


# Every ASCII character, a few from beyond it (spaces, controls, letters), around plain text.
_CHARS = [chr(c) for c in range(128)] + ["\u00a0", "\u2028", "\u20ac", "\u00e9", "\u0130", "\ufeff"]


@pytest.mark.parametrize("char", _CHARS, ids=[f"U+{ord(c):04X}" for c in _CHARS])
def test_token_check_accepts_and_refuses_each_character_as_the_full_rules_do(char: str) -> None:
    for token in (f"tok{char}en", char, f"{char}token", f"token{char}"):
        expected = reference_check(token)
        got = outcome(token)
        if expected is None:
            assert got is None, (token, got)
        else:
            assert got is not None and expected in got, (token, got, expected)


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=0, max_size=40))
def test_token_check_agrees_with_the_full_rules_on_any_text(token: str) -> None:
    expected = reference_check(token)
    got = outcome(token)
    assert (got is None) == (expected is None)
    if expected is not None and got is not None:
        assert expected in got


def test_token_check_refuses_a_plain_token_over_the_limit() -> None:
    check_token_text("x" * MAX_TOKEN_LENGTH)
    with pytest.raises(ValueError, match=f"over the {MAX_TOKEN_LENGTH}"):
        check_token_text("x" * (MAX_TOKEN_LENGTH + 1))


def reference_spellings(secret: str) -> tuple[str, ...]:
    """``secret_spellings`` without the unescaped-token shortcut (its match never matches): every
    escaped form computed, as before the shortcut."""
    with mock.patch.object(secrets, "_UNESCAPED", _NEVER):
        return secret_spellings(secret)


@pytest.mark.parametrize(
    "token",
    [
        "synthetic-token-1-000001",
        "demo_margin.token~0001",
        "PLANT/ed+tok\\en=9",
        "a&b<c>'d\"e",
        "x",
        "tok en%20",
        "caf\u00e9-token",
    ],
)
def test_spellings_are_the_full_set_for_plain_and_escaped_tokens(token: str) -> None:
    assert set(secret_spellings(token)) == set(reference_spellings(token))
    assert sorted(map(len, secret_spellings(token)), reverse=True) == list(map(len, secret_spellings(token)))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=48))
def test_spellings_are_the_full_set_for_any_printable_token(token: str) -> None:
    assert set(secret_spellings(token)) == set(reference_spellings(token))


def test_a_decrypted_token_reads_the_store_once_and_stays_a_secret() -> None:
    clear = "PLANTEDsecret-token-0042"
    store = CountedStore()
    lazy = store.token(clear)
    once = lazy.decrypted()
    assert store.decryptions[clear] == 1
    assert [once.reveal() for _ in range(3)] == [clear] * 3 and store.decryptions[clear] == 1
    assert once == lazy and hash(once) == hash(lazy) and once.fingerprint == lazy.fingerprint
    assert clear not in repr(once) and clear not in str(once) and clear not in f"{once}"
    with pytest.raises(TypeError):
        pickle.dumps(once)
    assert once.decrypted() is once  # already clear: nothing read again
    assert Redactor([once])(f"echo {clear}") == "echo ***" and store.decryptions[clear] == 1


def test_a_token_that_cannot_be_decrypted_now_fails_where_it_is_sent() -> None:
    def broken() -> str:
        raise RuntimeError("wrong key")

    lazy = SecretToken(broken, fingerprint="0123456789ab")
    assert lazy.decrypted() is lazy
    with pytest.raises(RuntimeError, match="wrong key"):
        lazy.reveal()


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60) | st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=60))
def test_case_folding_lowers_ascii_letters_only_and_keeps_the_length(text: str) -> None:
    from spx_pipeline.broker.secrets import fold_case

    reference = text.translate(str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"))
    assert fold_case(text) == reference and len(fold_case(text)) == len(text)
    assert fold_case("\u0130STANBUL Tok") == "\u0130stanbul tok"  # not str.lower(): length kept
