"""The request pipeline: what happens to one request, in the order the tests depend on.

Latency and network faults come first (a ``timeout`` sleeps and then *handles* the request, so an
order POST that timed out at the client was placed: the ambiguous case clients must handle), then
auth, per-account failures, routing, rate limits and injected 5xx; only then does a simulated
market catch up with the clock and the endpoint answer, and ``malformed`` truncate that answer.
The steps, and the bodies chosen where Tradier's are unverified, are under "emulator" in
docs/architecture.md.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from spx_pipeline.emulator import faults
from spx_pipeline.emulator.echo import echo_into
from spx_pipeline.emulator.endpoints import ROUTES
from spx_pipeline.emulator.ratelimit import bucket_for
from spx_pipeline.emulator.routing import ApiError, Call, Reply, bearer, error, token_fingerprint

if TYPE_CHECKING:
    from spx_pipeline.emulator.core import EmulatorCore

INVALID_TOKEN = "Invalid Access Token"
RATE_LIMITED = "Rate limit exceeded"
_ACCOUNT_PATH = re.compile(r"^/v1/accounts/([^/]+)(?:/|$)")


def handle(
    emu: EmulatorCore, method: str, raw_path: str, headers: Any, body: bytes
) -> tuple[Reply, str | None, bool]:
    """(reply, fault name, reset?) for one request; see the module docstring for the order."""
    url = urlsplit(raw_path)
    path = url.path.rstrip("/") or "/"
    account_match = _ACCOUNT_PATH.match(path)
    plan = emu.fault_injector.plan(path, account_match.group(1) if account_match else None)
    emu.pause(plan.latency_seconds)
    if plan.kind == faults.RESET:
        return Reply(0), faults.RESET, True
    fault: str | None = None
    if plan.kind == faults.TIMEOUT:
        emu.pause(plan.timeout_seconds)
        fault = faults.TIMEOUT

    token = bearer(headers.get("Authorization"))
    accounts = emu.book.by_token.get(token or "")
    if not accounts:
        return Reply(401, text=INVALID_TOKEN), fault, False
    if account_match and account_match.group(1) not in {a.account_id for a in accounts}:
        return Reply(401, text=f"Unauthorized Account: {account_match.group(1)}"), fault, False
    if plan.kind == faults.FAILING_ACCOUNT:
        text = INVALID_TOKEN if plan.status == 401 else f"Injected failure for account (HTTP {plan.status})"
        return Reply(plan.status, text=text), faults.FAILING_ACCOUNT, False

    found = ROUTES.match(method, path)
    if found is None:
        return Reply(404, text=f"Not Found: {method} {path}"), fault, False
    handler, match = found

    limit_headers: dict[str, str] = {}
    fingerprint = token_fingerprint(token or "")
    bucket = bucket_for(method, path)
    if plan.kind == faults.BURST_429:
        decision = emu.limiter.exhausted(fingerprint, bucket)
        return Reply(429, text=RATE_LIMITED, headers=decision.headers()), faults.BURST_429, False
    if emu.config.rate_limits_enabled:
        decision = emu.limiter.hit(fingerprint, bucket)
        limit_headers = decision.headers()
        if not decision.allowed:
            return Reply(429, text=RATE_LIMITED, headers=limit_headers), fault, False
    if plan.kind in (faults.FAIL_5XX, faults.RANDOM_5XX):
        return (
            Reply(plan.status, text="Service Unavailable (injected fault)", headers=limit_headers),
            plan.kind,
            False,
        )

    form: dict[str, list[str]] = {}
    if method in ("POST", "PUT") and body:
        ctype = (headers.get("Content-Type") or "").lower()
        text = body.decode("utf-8", errors="replace")
        if "json" in ctype or text.lstrip().startswith(("{", "[")):
            reply = error(
                400, "Request body must be form-encoded (application/x-www-form-urlencoded), not JSON"
            )
            reply.headers.update(limit_headers)
            return reply, fault, False
        form = parse_qs(text, keep_blank_values=True)
    call = Call(method, path, parse_qs(url.query, keep_blank_values=True), form, accounts, match)
    try:
        with emu.caught_up():
            result = handler(emu, call)
        reply = result if isinstance(result, Reply) else Reply(200, document=result)
    except ApiError as exc:
        reply = error(exc.status, exc.message)
    reply.headers.update(limit_headers)
    echo = emu.fault_injector.config.echo_authorization
    if (
        echo
        and reply.document is not None
        and faults.path_matches(emu.fault_injector.config.path_prefix, path)
    ):
        reply.document = echo_into(reply.document, headers.get("Authorization") or "", echo)
        fault = fault or "echo_authorization"
    if plan.kind == faults.MALFORMED:
        reply.status = 200
        fault = faults.MALFORMED
    return reply, fault, False
