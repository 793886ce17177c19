"""Adapters from the gateway to the library packages behind its routes.

Each adapter imports its package on first use, so the gateway starts (and its other routes work)
while a package is absent; a route whose package is missing answers 501 naming it. Heavy objects
(ingestion registry, embedder, answerer) are built once per gateway and kept in ``gw.extras``.
Functions here are blocking: routes call them through ``Pipeline.in_thread``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hanstack.errors import HanstackError, InvalidInputError, ModelNotFoundError

if TYPE_CHECKING:
    from hanstack.server.state import Gateway

_LOCK = threading.RLock()


class FeatureUnavailableError(HanstackError):
    http_status = 501
    code = "not_implemented"


def _need(module: str, what: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise FeatureUnavailableError(
            f"{what} needs the package {module}, which this installation does not have"
        )


def _extra(gw: Gateway, name: str, make: Any) -> Any:
    with _LOCK:
        if name not in gw.extras:
            gw.extras[name] = make()
        return gw.extras[name]


# --- embeddings -------------------------------------------------------------------------------
def embedding_models(gw: Gateway) -> list[str]:
    if importlib.util.find_spec("hanstack.embed") is None:
        return []
    name = gw.settings.retrieval.embedder
    return [name, f"{name}-query"]


def embed_texts(gw: Gateway, model: str, texts: list[str]) -> tuple[np.ndarray, int]:
    """(vectors, tokens) for ``model``: the workspace embedder, ``<name>-query`` for query-side vectors."""
    _need("hanstack.embed", "/v1/embeddings")
    known = embedding_models(gw)
    if model not in known:
        raise ModelNotFoundError(f"unknown embedding model {model!r}", hint="known: " + ", ".join(known))
    from hanstack.embed import build_embedder

    embedder = _extra(gw, "embedder", lambda: build_embedder(gw.settings))
    vectors = embedder.embed_queries(texts) if model.endswith("-query") else embedder.embed_passages(texts)
    return np.asarray(vectors, dtype=np.float32), sum(count_tokens_for_embedder(gw, t) for t in texts)


def count_tokens_for_embedder(gw: Gateway, text: str) -> int:
    tok = _extra(gw, "embed_tokenizer", lambda: _tokenizer_or_none("multilingual-e5"))
    if tok is None:
        from hanstack.llm.openai_compat import estimate_tokens

        return estimate_tokens(text)
    return int(tok.count(text))


def _tokenizer_or_none(name: str) -> Any:
    try:
        from hanstack.tokenizers import get_tokenizer

        return get_tokenizer(name)
    except (ImportError, HanstackError):
        return None


# --- tokenize ---------------------------------------------------------------------------------
def tokenize(texts: list[str], tokenizer: str, with_tokens: bool) -> dict[str, Any]:
    _need("hanstack.tokenizers", "/v1/tokenize")
    from hanstack.tokenizers import get_tokenizer

    tok = get_tokenizer(tokenizer)
    items = []
    for text in texts:
        ids = tok.encode(text)
        item: dict[str, Any] = {
            "count": len(ids),
            "chars": len(text),
            "chars_per_token": round(len(text) / len(ids), 3) if ids else None,
        }
        if with_tokens:
            item["ids"] = list(ids)
            item["pieces"] = [tok.decode([i]) for i in ids]
        items.append(item)
    return {
        "tokenizer": getattr(tok, "name", tokenizer),
        "vocab_size": getattr(tok, "vocab_size", None),
        "results": items,
    }


def tokenizer_report() -> dict[str, Any]:
    """Presets and a fixed Korean sentence counted by each fast preset (the console's report)."""
    _need("hanstack.tokenizers", "the tokenizer report")
    from hanstack.tokenizers import get_tokenizer, list_presets

    sample = "대한민국 헌법은 국민의 기본권을 보장하며, 모든 국민은 법 앞에 평등하다."
    rows = []
    for preset in list_presets():
        row: dict[str, Any] = {
            "name": preset.name,
            "models": preset.models,
            "vocab_size": preset.vocab_size,
            "fast": preset.fast,
        }
        if preset.fast:
            try:
                n = get_tokenizer(preset.name).count(sample)
                row.update(tokens=n, chars_per_token=round(len(sample) / n, 3))
            except HanstackError as exc:
                row["error"] = exc.message
        rows.append(row)
    return {"sample": sample, "sample_chars": len(sample), "presets": rows}


# --- tasks ------------------------------------------------------------------------------------
def run_task(gw: Gateway, name: str, backend: Any, body: Any) -> Any:
    _need("hanstack.tasks", f"/v1/tasks/{name}")
    import hanstack.tasks as tasks

    common = {"settings": gw.settings, "backend": backend}
    if name == "triage":
        return tasks.triage(body.text, categories=body.categories, **common)
    if name == "classify":
        if not body.labels:
            raise InvalidInputError(
                "classify needs 'labels' (two or more)", hint='{"text": ..., "labels": ["a", "b"]}'
            )
        return tasks.classify(body.text, body.labels, **common)
    if name == "extract":
        if not body.schema_:
            raise InvalidInputError(
                "extract needs 'schema' (a JSON schema object)",
                hint='{"text": ..., "schema": {"type": "object", ...}}',
            )
        return tasks.extract(body.text, body.schema_, **common)
    if name == "summarize":
        return tasks.summarize(body.text, budget_tokens=body.max_tokens or 120, **common)
    raise InvalidInputError(f"unknown task {name!r}", hint="triage, extract, classify or summarize")


# --- documents --------------------------------------------------------------------------------
_SAFE_NAME = re.compile(r"[^0-9A-Za-z가-힣._-]+")


class DocumentService:
    """Upload, list, show and delete documents, always inside one tenant (the caller's)."""

    def __init__(self, gw: Gateway) -> None:
        _need("hanstack.ingest.pipeline", "/v1/documents")
        from hanstack.ingest.pipeline import Ingestor
        from hanstack.ingest.registry import Registry

        self.settings = gw.settings
        self.registry = Registry(gw.settings.db_path)
        self.index = _open_index(gw)
        self.ingestor = Ingestor(gw.settings, self.registry, index=self.index)
        self.lock = threading.Lock()
        self.uploads = gw.settings.home / "uploads"

    def ingest(self, tenant: str, filename: str, data: bytes, acl: tuple[str, ...]) -> dict[str, Any]:
        from hanstack.ingest.models import doc_id_for
        from hanstack.ingest.pipeline import IngestOptions

        name = _SAFE_NAME.sub("_", Path(filename or "upload").name).strip("._") or "upload"
        folder = self.uploads / tenant
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        path.write_bytes(data)
        with self.lock:
            report = self.ingestor.ingest([path], IngestOptions(tenant=tenant, acl=acl))
        if report.failed:
            fail = report.failed[0]
            path.unlink(missing_ok=True)
            raise _ingest_error(fail)
        doc_id = doc_id_for(tenant, str(path.resolve()))
        try:
            doc = self.get(tenant, doc_id)
        except HanstackError:
            docs = [d for d in self.list(tenant) if d["source"].endswith(name)]
            doc = docs[0] if docs else {"doc_id": doc_id}
        return {
            **doc,
            "sha256": hashlib.sha256(data).hexdigest(),
            "chunks_written": report.chunks_written,
            "status": "unchanged"
            if report.documents_unchanged
            else ("updated" if report.documents_updated else "new"),
        }

    def list(self, tenant: str) -> list[dict[str, Any]]:
        with self.lock:
            return [_doc_dict(d) for d in self.registry.list(tenant=tenant)]

    def get(self, tenant: str, doc_id: str, *, with_text: bool = False) -> dict[str, Any]:
        with self.lock:
            doc = self.registry.get(doc_id, tenant=tenant)  # NotFoundError for other tenants' ids
            out = _doc_dict(doc)
            if with_text:
                out["text"] = self.registry.document_text(doc_id)
                out["chunks"] = [
                    {
                        "chunk_id": c.chunk_id,
                        "ordinal": c.ordinal,
                        "char_start": c.provenance.char_start,
                        "char_end": c.provenance.char_end,
                        "section": c.provenance.section,
                        "pages": c.provenance.pages,
                    }
                    for c in self.registry.chunks(doc_id)
                ]
        return out

    def delete(self, tenant: str, doc_id: str) -> dict[str, Any]:
        with self.lock:
            doc = self.registry.get(doc_id, tenant=tenant)
            self.ingestor.remove(doc_id)
        src = Path(doc.source.split("#", 1)[0])
        if self.uploads in src.parents:
            src.unlink(missing_ok=True)
        return {"doc_id": doc_id, "deleted": True}


def _ingest_error(fail: Any) -> HanstackError:
    import hanstack.errors as errors

    cls = getattr(errors, "".join(p.title() for p in str(fail.error).split("_")) + "Error", None)
    if not (isinstance(cls, type) and issubclass(cls, HanstackError)):
        cls = errors.IngestError
    try:
        return cls(fail.message, hint=fail.hint)  # type: ignore[call-arg]
    except TypeError:
        return errors.IngestError(fail.message, hint=fail.hint)


def public_paths(gw: Gateway, tenant: str, value: Any) -> Any:
    """Uploaded files' server paths shown as the uploaded name (no server layout leaks to callers)."""
    from hanstack.server.pipeline import deep_map

    prefix = str((gw.settings.home / "uploads" / tenant).resolve()) + "/"
    return deep_map(value, lambda s: s.replace(prefix, "") if prefix in s else s)


def _doc_dict(d: Any) -> dict[str, Any]:
    return {
        "doc_id": d.doc_id,
        "title": d.title,
        "source": Path(d.source.split("#", 1)[0]).name
        + (("#" + d.source.split("#", 1)[1]) if "#" in d.source else ""),
        "version": d.version,
        "ingested_at": d.ingested_at,
        "format": d.format,
        "size_bytes": d.size_bytes,
        "chunk_count": d.chunk_count,
        "acl": list(d.acl),
        "trust": str(getattr(d.trust, "value", d.trust)),
    }


def _open_index(gw: Gateway) -> Any:
    if importlib.util.find_spec("hanstack.store") is None:
        return None
    try:
        from hanstack.store import open_store
    except ImportError:
        return None
    return _extra(gw, "store", lambda: open_store(gw.settings))


def documents(gw: Gateway) -> DocumentService:
    return _extra(gw, "documents", lambda: DocumentService(gw))  # type: ignore[no-any-return]


# --- grounded answers ---------------------------------------------------------------------------
def answerer(gw: Gateway) -> Any:
    """The workspace's :class:`hanstack.answer.Answerer` (sharing the gateway's store)."""
    _need("hanstack.answer", "/v1/ask")
    try:
        from hanstack.answer import Answerer
    except ImportError as exc:
        raise FeatureUnavailableError(
            "/v1/ask needs hanstack.answer.Answerer, which is not available yet"
        ) from exc

    def make() -> Any:
        retriever = None
        store = _open_index(gw)
        if store is not None:
            from hanstack.retrieve import Retriever

            retriever = Retriever(gw.settings, store=store)
        return Answerer(gw.settings, retriever=retriever, backend_factory=gw.backends.get)

    return _extra(gw, "answerer", make)
