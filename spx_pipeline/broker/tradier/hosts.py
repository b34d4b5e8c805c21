"""Which host a token may be sent to: the sandbox, a loopback address, or the live host when allowed.

A local Tradier server on another host of a private network (workers on several hosts, a staging
network) is allowed only with ``TRADIER_ALLOW_PRIVATE_NETWORK`` and only as an address literal in a
private range: a name could resolve anywhere, and such a server speaks plain http.

The host is normalized as DNS would resolve it before any rule is applied, so spellings of the
production host (case, trailing dot, IDNA look-alikes) cannot slip past the live guard, and the URL
returned is rebuilt from the checked parts, so what is checked is exactly what is used.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Mapping
from typing import Final
from urllib.parse import urlsplit

import idna

from spx_pipeline.broker.tradier.errors import LiveTradingNotAllowedError
from spx_pipeline.domain.network import is_private_network_address
from spx_pipeline.domain.tradier.enums import Environment
from spx_pipeline.settings import ALLOW_PRIVATE_NETWORK_VAR, TRADIER_BASE_URL_VAR, SettingError, Settings

SANDBOX_BASE_URL: Final = "https://sandbox.tradier.com/v1"
LIVE_BASE_URL: Final = "https://api.tradier.com/v1"
SANDBOX_HOST: Final = "sandbox.tradier.com"
LIVE_HOST: Final = "api.tradier.com"
LIVE_HOSTS: Final = frozenset({LIVE_HOST})
TRADIER_HOSTS: Final = frozenset({SANDBOX_HOST, *LIVE_HOSTS})
# A stored credential's environment → its host, unless a base URL is configured.
BASE_URLS: Final[Mapping[str, str]] = {
    Environment.SANDBOX: SANDBOX_BASE_URL,
    Environment.LIVE: LIVE_BASE_URL,
}


class BaseUrlError(SettingError):
    """The base URL cannot be used (its message names the setting and the value, never a password).

    Built only from the URL's scheme, host, port and path, so it holds no secret and may be shown
    as it is, per account, where a sync records why an account was not asked.
    """


def base_url_for(environment: str, explicit: str | None = None, settings: Settings | None = None) -> str:
    """``explicit`` > ``TRADIER_BASE_URL`` > the credential's environment (sandbox or live host).

    The one rule the balance sync and the Dagster resource share, so a live token is never sent to
    the sandbox (nor a sandbox token to the live host) unless a base URL says so.
    """
    if environment not in BASE_URLS:
        raise ValueError(f"environment must be one of {sorted(BASE_URLS)}, got {environment!r}")
    configured = (settings or Settings.from_env()).tradier_base_url
    return explicit or configured or BASE_URLS[environment]


def normalize_host(hostname: str) -> str:
    """The host as DNS will resolve it: IDNA (UTS 46) to ASCII, lower case, no trailing root dot.

    ``API.Tradier.com.``, ``ａｐｉ.tradier.com`` and ``api。tradier。com`` all reach the production
    host, so they must all compare equal to it before the live guard decides anything.
    """
    text = hostname.strip()
    if not text:
        raise ValueError("the host is empty")
    try:
        address = ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        pass
    else:
        mapped = getattr(address, "ipv4_mapped", None)
        return str(mapped or address)
    try:
        ascii_host = idna.encode(text.rstrip(".。．｡"), uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise ValueError(f"host {hostname!r} is not a valid host name ({exc})") from None
    return ascii_host.lower().rstrip(".")


def is_loopback_host(host: str) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ::1): the local Tradier server."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def resolve_base_url(
    base_url: str | None = None,
    *,
    allow_live: bool | None = None,
    environ: Mapping[str, str] | None = None,
    settings: Settings | None = None,
) -> str:
    """Explicit ``base_url`` > ``TRADIER_BASE_URL`` > sandbox, checked against an allow-list.

    Tokens go only to the Tradier sandbox (https), a loopback address (the local Tradier server),
    or the production host (https) with an explicit opt-in; anything else is refused before any
    request. The host is normalized first (case, trailing dot, IDNA), URLs carrying credentials
    (``user@host``), a query or a fragment are refused, and the URL returned is rebuilt from the
    normalized parts, so what is checked is exactly what is used. ``settings`` is the environment
    already read (``Settings.from_env``), else ``environ`` or the process environment is read now.
    """
    if settings is None:
        settings = Settings.from_env(environ)
    configured = settings.tradier_base_url
    url = (base_url or configured or SANDBOX_BASE_URL).strip().rstrip("/")
    # The name a refusal quotes: the variable when the value is the one it holds (a sync passes
    # TRADIER_BASE_URL on as base_url), else the argument.
    name = TRADIER_BASE_URL_VAR if configured and (base_url is None or base_url == configured) else "base_url"
    live_ok = settings.allow_live.enabled if allow_live is None else allow_live
    return _checked_url(url, live_ok, settings.allow_private_network.enabled, name)


@functools.lru_cache(maxsize=64)
def _checked_url(url: str, live_ok: bool, private_ok: bool = False, name: str = "base_url") -> str:
    """``resolve_base_url``'s checks, which depend on nothing else: a sync of many clients runs them once.

    Each refusal is one ``BaseUrlError`` line: ``name``, the value (its password as ``***``, no query
    or fragment) and why.
    """
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise BaseUrlError(
            f"{name}={url.split('?', 1)[0].split('#', 1)[0]!r} is not a valid URL ({exc})"
        ) from None
    netloc = parts.netloc
    if "@" in netloc:  # a user name or password is never quoted: a token may have been pasted there
        netloc = "***@" + netloc.rpartition("@")[2]
    # Messages quote the URL without its query or fragment, where a secret could have been pasted.
    shown = f"{name}={(f'{parts.scheme}://{netloc}{parts.path}' if parts.scheme else parts.path)!r}"
    if "@" in parts.netloc:
        raise BaseUrlError(f"{shown} must not carry a user name or password (user@host); remove them")
    try:
        port = parts.port
    except ValueError as exc:
        raise BaseUrlError(f"{shown} has an invalid port ({exc})") from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise BaseUrlError(f"{shown} is not an http(s) URL with a host (like https://sandbox.tradier.com/v1)")
    if parts.query or parts.fragment:
        raise BaseUrlError(f"{shown}?... must not carry a query or fragment")
    try:
        host = normalize_host(parts.hostname)
    except ValueError as exc:
        raise BaseUrlError(f"{shown}: {exc}") from None
    if host in LIVE_HOSTS:
        if not live_ok:
            raise LiveTradingNotAllowedError(
                f"refusing the production host {host} (from {shown}): "
                "pass allow_live=True or set TRADIER_ALLOW_LIVE=true"
            )
    elif is_private_network_address(host):
        if not private_ok:
            raise BaseUrlError(
                f"{shown}: host {host!r} is not allowed: it is a private-network "
                "address, allowed for a local Tradier server on another host only with "
                f"{ALLOW_PRIVATE_NETWORK_VAR}=true"
            )
    elif host not in TRADIER_HOSTS and not is_loopback_host(host):
        raise BaseUrlError(
            f"{shown}: host {host!r} is not allowed: use the sandbox {SANDBOX_HOST}, a "
            f"loopback address (the local Tradier server), or {LIVE_HOST} with TRADIER_ALLOW_LIVE=true"
        )
    local = is_loopback_host(host) or is_private_network_address(host)
    if not local and parts.scheme != "https":
        raise BaseUrlError(f"{shown} must use https for {host} (the token would travel in clear)")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    return f"{parts.scheme}://{netloc}{parts.path}".rstrip("/")
