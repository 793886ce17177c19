"""``/v1/documents``: upload (ingest), list, show and delete — always inside the caller's tenant.

Another tenant's document id answers 404 exactly like an id that does not exist.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, Form, UploadFile

from hanstack.auth import Principal
from hanstack.errors import InvalidInputError
from hanstack.server import services
from hanstack.server.deps import gateway, principal
from hanstack.server.state import Gateway

router = APIRouter(prefix="/v1/documents", tags=["documents"])


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
    svc = await gw.pipeline.setup_in_thread(services.documents, gw)
    doc = await gw.pipeline.setup_in_thread(svc.ingest, who.tenant, file.filename or "upload", data, groups)
    gw.pipeline.forget_tenant(who.tenant)
    await gw.pipeline.record(
        who,
        "/v1/documents",
        "documents.ingest",
        request={"filename": file.filename, "bytes": len(data), "acl": list(groups)},
        response={"doc_id": doc.get("doc_id"), "status": doc.get("status")},
        status=201,
    )
    return doc


@router.get("", summary="Documents of the caller's tenant")
async def list_documents(who: Principal = Depends(principal), gw: Gateway = Depends(gateway)) -> Any:
    svc = await gw.pipeline.setup_in_thread(services.documents, gw)
    docs = await gw.pipeline.in_thread(svc.list, who.tenant)
    await gw.pipeline.record(
        who, "/v1/documents", "documents.list", request=None, response={"count": len(docs)}
    )
    return {"object": "list", "data": docs}


@router.get("/{doc_id}", summary="One document with its normalised text and chunk spans")
async def get_document(
    doc_id: str, who: Principal = Depends(principal), gw: Gateway = Depends(gateway)
) -> Any:
    svc = await gw.pipeline.setup_in_thread(services.documents, gw)
    try:
        doc = await gw.pipeline.in_thread(lambda: svc.get(who.tenant, doc_id, with_text=True))
    except Exception:
        await gw.pipeline.record(
            who,
            "/v1/documents/{doc_id}",
            "documents.get",
            request={"doc_id": doc_id},
            response=None,
            status=404,
        )
        raise
    await gw.pipeline.record(
        who,
        "/v1/documents/{doc_id}",
        "documents.get",
        request={"doc_id": doc_id},
        response={"chars": len(doc["text"])},
    )
    return doc


@router.delete("/{doc_id}", summary="Delete a document of the caller's tenant (and its index entries)")
async def delete_document(
    doc_id: str, who: Principal = Depends(principal), gw: Gateway = Depends(gateway)
) -> Any:
    svc = await gw.pipeline.setup_in_thread(services.documents, gw)
    try:
        out = await gw.pipeline.in_thread(svc.delete, who.tenant, doc_id)
        gw.pipeline.forget_tenant(who.tenant)
    except Exception:
        await gw.pipeline.record(
            who,
            "/v1/documents/{doc_id}",
            "documents.delete",
            request={"doc_id": doc_id},
            response=None,
            status=404,
        )
        raise
    await gw.pipeline.record(
        who, "/v1/documents/{doc_id}", "documents.delete", request={"doc_id": doc_id}, response=out
    )
    return out
