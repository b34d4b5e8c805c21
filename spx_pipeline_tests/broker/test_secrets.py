"""SecretToken refuses tokens that cannot travel in a header, without ever quoting them."""

from __future__ import annotations

from urllib.parse import quote, quote_plus

import pytest
import requests

from spx_pipeline.broker.secrets import SecretToken, redact, secret_spellings, token_fingerprint
from spx_pipeline.broker.tradier import TradierClient
from spx_pipeline.emulator.echo import ECHO_SPELLINGS
from spx_pipeline_tests.fixtures.orders import order_form

SECRET = "SECRETabc123"


class _CountingSession(requests.Session):
    """Records every request instead of sending it: proves a refused token never reaches the wire."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[str, str]] = []

    def request(self, method: str, url: str, *args: object, **kwargs: object) -> requests.Response:  # type: ignore[override]
        self.calls.append((method, url))
        raise AssertionError("a refused token must not reach the session")


@pytest.mark.parametrize(
    ("token", "kind", "name", "position"),
    [
        (SECRET + "\n", "whitespace", "line feed", 13),
        (SECRET + "\r\n", "whitespace", "carriage return", 13),
        (" " + SECRET, "whitespace", "space", 1),
        ("SECRET\tabc123", "whitespace", "tab", 7),
        ("SECRETabc\u00a0123", "whitespace", "no-break space", 10),
        ("SECRET\x00abc123", "non-printable", "control character", 7),
        ("SECRETabc\x7f123", "non-printable", "control character", 10),
    ],
)
def test_token_with_whitespace_or_control_character_is_refused_without_quoting_it(
    token: str, kind: str, name: str, position: int
) -> None:
    with pytest.raises(ValueError, match="access token") as info:
        SecretToken(token)
    message = str(info.value)
    assert f"{kind} character" in message
    assert name in message
    assert f"position {position} of {len(token)}" in message
    assert SECRET not in message and "SECRET" not in message and "abc" not in message


def test_non_ascii_token_is_refused_without_quoting_the_character() -> None:
    with pytest.raises(ValueError, match="non-ASCII character at position 7 of 13") as info:
        SecretToken("SECRET\u20acabc123")
    assert "\u20ac" not in str(info.value) and "SECRET" not in str(info.value)


@pytest.mark.parametrize("token", ["", "   ", "\n"])
def test_blank_token_is_empty(token: str) -> None:
    with pytest.raises(ValueError, match="access token is empty"):
        SecretToken(token)


def test_lazily_decrypted_token_is_checked_at_reveal_without_quoting_it() -> None:
    token = SecretToken(lambda: SECRET + "\n", fingerprint=token_fingerprint(SECRET))
    with pytest.raises(ValueError, match=r"line feed.*position 13 of 13") as info:
        token.reveal()
    assert SECRET not in str(info.value)


def test_client_refuses_a_planted_newline_token_before_any_request() -> None:
    session = _CountingSession()
    with pytest.raises(ValueError, match="line feed") as info:
        TradierClient(SECRET + "\n", base_url="http://127.0.0.1:9/v1", rate_limits=False, session=session)
    assert SECRET not in str(info.value)
    assert session.calls == []


def test_client_with_lazy_newline_token_fails_closed_and_sends_nothing() -> None:
    session = _CountingSession()
    lazy = SecretToken(lambda: SECRET + "\n", fingerprint=token_fingerprint(SECRET))
    client = TradierClient(lazy, base_url="http://127.0.0.1:9/v1", rate_limits=False, session=session)
    with pytest.raises(ValueError, match="line feed") as info:
        client.place_order("VA1", order_form(tag="t-1"))
    assert SECRET not in str(info.value) and SECRET not in repr(info.value)
    assert session.calls == []


def test_ordinary_tokens_still_accepted() -> None:
    for text in ("demo-margin-token-0001", "Ab0/+=._~-xyz", r"back\slash'quote"):
        assert SecretToken(text).reveal() == text


def test_secret_spellings_cover_escaped_and_percent_encoded_forms() -> None:
    token = r"PLANT/ed+tok\en=9"
    quoted = (
        f"Invalid header value {('Bearer ' + token)!r}; url ?t={quote(token, safe='')}&u={quote_plus(token)}"
    )
    assert token not in quoted  # every spelling in this text differs from the clear value
    cleaned = redact(quoted, *secret_spellings(token))
    for spelling in (repr(token)[1:-1], quote(token, safe=""), quote_plus(token)):
        assert spelling not in cleaned
    assert cleaned.count("***") == 3
    assert secret_spellings("") == ()


def test_redactor_replaces_every_spelling_of_every_token_in_one_pass() -> None:
    import base64
    import pickle

    from spx_pipeline.broker.secrets import MAX_TOKEN_LENGTH, Redactor

    first, second = "tok-A/1+2&3=4-aaaaaaaaaaaaaaaa", "tok-B-bbbbbbbbbbbbbbbbbbbbbbbb"
    redact = Redactor([SecretToken(first), second])
    text = " | ".join(
        [
            first,
            repr(first)[1:-1],
            "tok-A%2F1%2B2%263%3D4-aaaaaaaaaaaaaaaa",
            "tok-A%2f1%2b2%263%3d4-aaaaaaaaaaaaaaaa",
            "tok-A\\/1+2&3=4-aaaaaaaaaaaaaaaa",
            "tok-A/1+2&amp;3=4-aaaaaaaaaaaaaaaa",
            base64.b64encode(f"Bearer {second}".encode()).decode(),
            second.encode().hex(),
        ]
    )
    out = redact(text)
    assert out.count("***") == 8
    assert "aaaaaaaa" not in out and "bbbbbbbb" not in out and "62626262" not in out
    assert repr(redact).startswith("Redactor(") and first not in repr(redact) and second not in repr(redact)
    with pytest.raises(TypeError):
        pickle.dumps(redact)
    assert Redactor([])("nothing to hide") == "nothing to hide"
    with pytest.raises(ValueError, match=f"over the {MAX_TOKEN_LENGTH}"):
        SecretToken("x" * (MAX_TOKEN_LENGTH + 1))


@pytest.mark.parametrize("spelling", sorted(ECHO_SPELLINGS))
def test_redactor_replaces_each_echoed_spelling_whatever_the_case(spelling: str) -> None:
    """Every spelling a hostile broker's echo may take (the local server's ``echo_authorization``)."""
    from spx_pipeline.broker.secrets import Redactor

    token = "TokPlanted/Key+Value=42aBcD"
    echoed = ECHO_SPELLINGS[spelling](f"Bearer {token}")
    out = Redactor([SecretToken(token)])(f'{{"echo": "{echoed}", "left": "intact"}}')
    assert "***" in out and '"left": "intact"' in out
    bare = token.split("/", maxsplit=1)[0].lower()
    assert bare not in out.lower(), out
    assert echoed not in out
