"""``/v1/documents``: upload (ingest), list, show and delete — always inside the caller's tenant.

Another tenant's document id answers 404 exactly like an id that does not exist. Every call is
audited (metadata only: ids, sizes, statuses — document text is not copied into the log).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, File, Form, UploadFile

from hanstack.auth import Principal
from hanstack.errors import HanstackError, InvalidInputError
from hanstack.server import services
from hanstack.server.deps import gateway, principal
from hanstack.server.state import Gateway

router = APIRouter(prefix="/v1/documents", tags=["documents"])


async def _audited(
    gw: Gateway,
    who: Principal,
    route: str,
    operation: str,
    request: Any,
    work: Callable[[services.DocumentService], Awaitable[Any]],
    summary: Callable[[Any], Any],
    status: int = 200,
) -> Any:
    """Run ``work`` on the document service and audit it, failures included (with their status)."""
    try:
        svc = await gw.pipeline.setup_in_thread(services.documents, gw)
        out = await work(svc)
    except HanstackError as exc:
        await gw.pipeline.record(
            who, route, operation, request=request, response=None, status=exc.http_status
        )
        raise
    await gw.pipeline.record(who, route, operation, request=request, response=summary(out), status=status)
    return out


@router.post("", status_code=201, summary="Upload and ingest a document into the caller's tenant")
async def upload(
    file: UploadFile = File(..., description="PDF, DOCX, HWPX, HTML, Markdown, text, JSONL ..."),
    acl: str = Form("public", description="Comma-separated access groups"),
    who: Principal = Depends(principal),
    gw: Gateway = Depends(gateway),
) -> Any:
    data = await file.read()
    if not data:
        raise InvalidInputError("the uploaded file is empty")
    groups = tuple(g.strip() for g in acl.split(",") if g.strip()) or ("public",)
    name = file.filename or "upload"

    async def work(svc: services.DocumentService) -> Any:
        # ingestion may take long on big files: set-up work, not bound by the model deadline
        doc = await gw.pipeline.setup_in_thread(svc.ingest, who.tenant, name, data, groups)
        gw.pipeline.forget_tenant(who.tenant)
        return doc

    request = {"filename": file.filename, "bytes": len(data), "acl": list(groups)}
    return await _audited(
        gw,
        who,
        "/v1/documents",
        "documents.ingest",
        request,
        work,
        lambda d: {"doc_id": d.get("doc_id"), "status": d.get("status")},
        status=201,
    )


@router.get("", summary="Documents of the caller's tenant")
async def list_documents(who: Principal = Depends(principal), gw: Gateway = Depends(gateway)) -> Any:
    async def work(svc: services.DocumentService) -> Any:
        return await gw.pipeline.in_thread(svc.list, who.tenant)

    docs = await _audited(gw, who, "/v1/documents", "documents.list", None, work, lambda d: {"count": len(d)})
    return {"object": "list", "data": docs}


@router.get("/{doc_id}", summary="One document with its normalised text and chunk spans")
async def get_document(
    doc_id: str, who: Principal = Depends(principal), gw: Gateway = Depends(gateway)
) -> Any:
    async def work(svc: services.DocumentService) -> Any:
        return await gw.pipeline.in_thread(lambda: svc.get(who.tenant, doc_id, with_text=True))

    return await _audited(
        gw,
        who,
        "/v1/documents/{doc_id}",
        "documents.get",
        {"doc_id": doc_id},
        work,
        lambda d: {"chars": len(d["text"])},
    )


@router.delete("/{doc_id}", summary="Delete a document of the caller's tenant (and its index entries)")
async def delete_document(
    doc_id: str, who: Principal = Depends(principal), gw: Gateway = Depends(gateway)
) -> Any:
    async def work(svc: services.DocumentService) -> Any:
        out = await gw.pipeline.in_thread(svc.delete, who.tenant, doc_id)
        gw.pipeline.forget_tenant(who.tenant)
        return out

    return await _audited(
        gw, who, "/v1/documents/{doc_id}", "documents.delete", {"doc_id": doc_id}, work, lambda d: d
    )
