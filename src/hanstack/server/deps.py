"""FastAPI dependencies: the gateway, the authenticated principal (with rate limiting), roles."""

from __future__ import annotations

from fastapi import Depends, Request

from hanstack.auth import Principal
from hanstack.errors import AuthError, PermissionDeniedError, RateLimitError
from hanstack.server.state import Gateway


def gateway(request: Request) -> Gateway:
    return request.app.state.gateway  # type: ignore[no-any-return]


async def principal(request: Request) -> Principal:
    """``Authorization: Bearer hsk_…`` → tenant and role; then the key's rate limit."""
    gw: Gateway = request.app.state.gateway
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError(
            "missing API key",
            hint="send 'Authorization: Bearer hsk_…' (create one with 'hanstack keys create')",
        )
    who = gw.keys.authenticate(token.strip())
    try:
        gw.limiter.check(who.key_id)
    except RateLimitError:
        gw.metrics.rate_limited.inc()
        raise
    request.state.principal = who
    return who


async def admin(who: Principal = Depends(principal)) -> Principal:
    if not who.is_admin:
        raise PermissionDeniedError(
            "this route needs an admin key of the tenant", hint="hanstack keys create --role admin"
        )
    return who
