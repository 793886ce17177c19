"""The tenant's audit log (admin keys only), health and metrics."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Response

from hanstack.audit import iter_export, verify_log
from hanstack.auth import Principal
from hanstack.errors import InvalidInputError, NotFoundError
from hanstack.server.deps import admin, gateway
from hanstack.server.state import Gateway

router = APIRouter(tags=["admin"])


def _since(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidInputError(
            f"since={value!r} is not an ISO date or timestamp", hint="e.g. 2026-01-31 or 2026-01-31T09:00:00Z"
        ) from exc
    if dt.tzinfo is None:
        from datetime import UTC

        dt = dt.replace(tzinfo=UTC)
    return dt


@router.get("/v1/audit", summary="The caller's tenant's audit records, newest first (admin)")
async def audit_records(
    since: str | None = None,
    limit: int = Query(100, ge=1, le=1000),
    who: Principal = Depends(admin),
    gw: Gateway = Depends(gateway),
) -> Any:
    if gw.audit is None:
        raise NotFoundError("the audit log is disabled on this server")
    directory = gw.audit.directory
    records = await gw.pipeline.in_thread(
        lambda: list(iter_export(directory, since=_since(since), tenant=who.tenant))
    )
    records = records[-limit:][::-1]
    return {"object": "list", "tenant": who.tenant, "data": records}


@router.get(
    "/v1/audit/verify", summary="Verify the whole hash chain; details only for the caller's tenant (admin)"
)
async def audit_verify(who: Principal = Depends(admin), gw: Gateway = Depends(gateway)) -> Any:
    if gw.audit is None:
        raise NotFoundError("the audit log is disabled on this server")
    audit = gw.audit
    report = await gw.pipeline.in_thread(lambda: verify_log(audit.directory, key=audit.key))
    own = {int(r["seq"]) for r in iter_export(audit.directory, tenant=who.tenant)}
    return {
        "ok": report.ok,
        "records": report.records,
        "head": report.head,
        "erased": report.erased,
        "checkpoint": bool(report.checkpoint),
        "problems": len(report.problems),
        "problems_in_tenant": [p.__dict__ for p in report.problems if p.seq in own],
    }


@router.get("/healthz", summary="Liveness", tags=["ops"])
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/metrics", summary="Prometheus metrics (no tenant labels)", tags=["ops"])
async def metrics(gw: Gateway = Depends(gateway)) -> Response:
    body, ctype = gw.metrics.render()
    return Response(body, media_type=ctype)
