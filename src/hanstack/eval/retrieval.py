"""Retrieval evaluation on BEIR-like JSONL: ``hanstack eval retrieval``.

Corpus rows: ``{"doc_id", "text"}`` (optional ``title``); query rows: ``{"qid", "query",
"relevant_doc_ids"}``. The corpus is ingested the way a user would ingest it (each row a document,
chunked by hanstack's pipeline) into a throw-away workspace, then every query is searched with
``group_by_doc=True`` (documents ranked by their best chunk) and scored with nDCG@10,
Recall@5/10/20 and MRR@10; latency is measured per query, query embedding included.

``tokenizer`` swaps the BM25 terms for a comparison (the dense side is unchanged):
``kiwi-content`` (hanstack's: Kiwi content morphemes), ``kiwi-all`` (every Kiwi morpheme form, as
AutoRAG's ``ko_kiwi``), ``whitespace`` (lower-cased whitespace tokens, what general RAG frameworks
do by default) and ``mecab`` (MeCab content morphemes).
"""

from __future__ import annotations

import json
import logging
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hanstack.errors import InvalidInputError, NotFoundError
from hanstack.eval.metrics import mean, mrr_at_k, ndcg_at_k, percentile, recall_at_k
from hanstack.ingest.models import Chunk, Provenance, chunk_id_for, doc_id_for

if TYPE_CHECKING:
    from hanstack.config import Settings
    from hanstack.embed.base import Embedder
    from hanstack.retrieve.retriever import FusionConfig, Retriever, SearchHit

log = logging.getLogger(__name__)

EVAL_TENANT = "eval"
EVAL_GROUPS = ("eval",)
TOKENIZERS = ("kiwi-content", "kiwi-all", "whitespace", "mecab")


@dataclass(frozen=True, slots=True)
class CorpusDoc:
    doc_id: str
    text: str
    title: str | None = None


@dataclass(frozen=True, slots=True)
class EvalQuery:
    qid: str
    query: str
    relevant: frozenset[str]


@dataclass(slots=True)
class RetrievalReport:
    mode: str
    tokenizer: str
    fusion: str
    queries: int
    ndcg_10: float
    recall_5: float
    recall_10: float
    recall_20: float
    mrr_10: float
    latency_p50_ms: float
    latency_p95_ms: float
    search_p50_ms: float
    """Latency without the query embedding."""
    chunks: int = 0
    per_query: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        """Every figure but the per-query rows."""
        return {k: v for k, v in asdict(self).items() if k != "per_query"}


# --- loading ---------------------------------------------------------------------------------------
def read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for each non-blank line; a missing file or a bad line is explained."""
    if not path.is_file():
        raise NotFoundError(f"{path} does not exist", hint="pass a JSONL file")
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError as exc:
                raise InvalidInputError(f"{path}:{lineno}: not valid JSON ({exc})") from exc
            if not isinstance(row, dict):
                raise InvalidInputError(f"{path}:{lineno}: expected a JSON object")
            yield lineno, row


def load_corpus(path: Path) -> list[CorpusDoc]:
    docs = []
    for lineno, row in read_jsonl(path):
        doc_id, text = row.get("doc_id", row.get("_id")), row.get("text")
        if not isinstance(doc_id, str | int) or not isinstance(text, str):
            raise InvalidInputError(f"{path}:{lineno}: corpus rows need string 'doc_id' and 'text'")
        docs.append(CorpusDoc(str(doc_id), text, row.get("title") or None))
    if not docs:
        raise InvalidInputError(f"{path} has no documents")
    return docs


def load_queries(path: Path) -> list[EvalQuery]:
    queries = []
    for lineno, row in read_jsonl(path):
        qid, query, rel = (
            row.get("qid", row.get("_id")),
            row.get("query", row.get("text")),
            row.get("relevant_doc_ids"),
        )
        if not isinstance(query, str) or not isinstance(rel, list) or qid is None:
            raise InvalidInputError(
                f"{path}:{lineno}: query rows need 'qid', 'query' and a 'relevant_doc_ids' list"
            )
        queries.append(EvalQuery(str(qid), query, frozenset(str(r) for r in rel)))
    if not queries:
        raise InvalidInputError(f"{path} has no queries")
    return queries


# --- tokenizers -----------------------------------------------------------------------------------
def tokenizer(name: str) -> Callable[[Sequence[str]], list[list[str]]]:
    """A batch tokenizer by name (see the module docstring)."""
    from hanstack.korean.analyzer import get_analyzer

    if name == "whitespace":
        return lambda texts: [t.lower().split() for t in texts]
    if name == "kiwi-content":
        return get_analyzer("kiwi").search_terms_batch
    if name == "kiwi-all":
        kiwi = get_analyzer("kiwi")
        return lambda texts: [[m.form for m in ms] for ms in kiwi.analyze_batch(texts)]
    if name == "mecab":
        return get_analyzer("mecab").search_terms_batch
    raise InvalidInputError(f"unknown tokenizer {name!r}", hint=f"choose one of: {', '.join(TOKENIZERS)}")


# --- building the index ----------------------------------------------------------------------------
def chunk_corpus(corpus: Sequence[CorpusDoc], settings: Settings) -> list[Chunk]:
    """Chunks of the corpus as ingestion makes them (each row a document), with Kiwi terms.

    Uses hanstack's ingestion pipeline (chunker, registry) when it is importable; otherwise each
    passage becomes one chunk. ``provenance.source`` ends in ``#<doc_id>`` either way.
    """
    try:
        from hanstack.ingest.pipeline import IngestOptions, Ingestor
        from hanstack.ingest.registry import Registry
    except ImportError:
        return _passage_chunks(corpus)
    settings.ensure_home()
    corpus_path = settings.home / "corpus.jsonl"
    with corpus_path.open("w", encoding="utf-8") as fh:
        for d in corpus:
            fh.write(
                json.dumps({"doc_id": d.doc_id, "text": d.text, "title": d.title}, ensure_ascii=False) + "\n"
            )
    with Registry(settings.db_path) as registry:
        ingestor = Ingestor(settings, registry, index=None)
        report = ingestor.ingest([corpus_path], IngestOptions(tenant=EVAL_TENANT, acl=EVAL_GROUPS))
        if report.failed:
            first = report.failed[0]
            raise InvalidInputError(f"ingesting {first.source} failed: {first.message}", hint=first.hint)
        chunks: list[Chunk] = []
        for record in registry.list(tenant=EVAL_TENANT):
            chunks.extend(registry.chunks(record.doc_id))
    return chunks


def _passage_chunks(corpus: Sequence[CorpusDoc]) -> list[Chunk]:
    terms = tokenizer("kiwi-content")([d.text for d in corpus])
    chunks = []
    for d, t in zip(corpus, terms, strict=True):
        doc_id = doc_id_for(EVAL_TENANT, d.doc_id)
        prov = Provenance(
            doc_id=doc_id, source=f"corpus#{d.doc_id}", content_sha256="", title=d.title, section_path=(),
            page_start=None, page_end=None, char_start=0, char_end=len(d.text), ingested_at="", version=1,
            tenant=EVAL_TENANT, acl=EVAL_GROUPS,
        )  # fmt: skip
        chunks.append(Chunk(chunk_id_for(doc_id, 1, 0), 0, d.text, prov, len(t), tuple(t)))
    return chunks


def retokenize(chunks: Sequence[Chunk], name: str) -> list[Chunk]:
    if name == "kiwi-content":
        return list(chunks)
    terms = tokenizer(name)([c.text for c in chunks])
    return [replace(c, terms=tuple(t)) for c, t in zip(chunks, terms, strict=True)]


def corpus_doc_id(hit: SearchHit) -> str:
    return hit.provenance.source.rsplit("#", 1)[-1]


@contextmanager
def eval_retriever(
    chunks: Sequence[Chunk],
    *,
    tokenizer_name: str = "kiwi-content",
    embedder: Embedder | None = None,
    config: FusionConfig | None = None,
    settings: Settings | None = None,
) -> Iterator[Retriever]:
    """A retriever over ``chunks`` in a temporary Qdrant Edge index (deleted afterwards)."""
    from hanstack.config import load_settings
    from hanstack.embed.registry import build_embedder
    from hanstack.retrieve.retriever import FusionConfig, Retriever
    from hanstack.store.edge import EdgeStore
    from hanstack.store.sparse import Bm25Params

    with tempfile.TemporaryDirectory(prefix="hanstack-eval-") as tmp:
        base = settings or load_settings(Path(tmp))
        emb = embedder or build_embedder(base)
        r = base.retrieval
        batch = tokenizer(tokenizer_name)

        def tokenize(text: str) -> list[str]:
            return batch([text])[0]

        store = EdgeStore(
            Path(tmp) / "index", emb, bm25=Bm25Params(k1=r.bm25_k1, b=r.bm25_b), field_terms=tokenize
        )
        try:
            store.upsert_chunks(retokenize(chunks, tokenizer_name))
            store.flush()
            yield Retriever(
                store=store,
                tokenize=tokenize,
                config=config or FusionConfig.from_settings(base),
            )
        finally:
            store.close()


def evaluate(
    retriever: Retriever,
    queries: Sequence[EvalQuery],
    *,
    mode: str = "hybrid",
    fusion: str | None = None,
    doc_key: Callable[[SearchHit], str] = corpus_doc_id,
    query_vectors: dict[str, Any] | None = None,
) -> RetrievalReport:
    """Run every query (documents ranked by their best chunk) and score the rankings."""
    ndcg, r5, r10, r20, mrr, lat, search_lat, rows = [], [], [], [], [], [], [], []
    for q in queries:
        started = time.perf_counter()
        hits = retriever.search(
            q.query,
            tenant=EVAL_TENANT,
            groups=EVAL_GROUPS,
            k=20,
            mode=mode,  # type: ignore[arg-type]
            fusion=fusion,  # type: ignore[arg-type]
            group_by_doc=True,
            query_vector=None if query_vectors is None else query_vectors.get(q.query),
        )
        elapsed = (time.perf_counter() - started) * 1000
        lat.append(elapsed)
        search_lat.append(elapsed - retriever.last_timing.embed_ms)
        ranked = [doc_key(h) for h in hits]
        ndcg.append(ndcg_at_k(ranked, q.relevant, 10))
        r5.append(recall_at_k(ranked, q.relevant, 5))
        r10.append(recall_at_k(ranked, q.relevant, 10))
        r20.append(recall_at_k(ranked, q.relevant, 20))
        mrr.append(mrr_at_k(ranked, q.relevant, 10))
        rows.append({"qid": q.qid, "ndcg_10": ndcg[-1], "ranked": ranked[:10]})
    return RetrievalReport(
        mode=mode,
        tokenizer="",
        fusion=fusion or retriever.config.fusion,
        queries=len(queries),
        ndcg_10=mean(ndcg),
        recall_5=mean(r5),
        recall_10=mean(r10),
        recall_20=mean(r20),
        mrr_10=mean(mrr),
        latency_p50_ms=percentile(lat, 50),
        latency_p95_ms=percentile(lat, 95),
        search_p50_ms=percentile(search_lat, 50),
        chunks=retriever.store.count(),
        per_query=rows,
    )


def run_retrieval_eval(
    corpus_path: Path,
    queries_path: Path,
    *,
    mode: str = "hybrid",
    tokenizer_name: str = "kiwi-content",
    fusion: str | None = None,
    settings: Settings | None = None,
    embedder: Embedder | None = None,
) -> RetrievalReport:
    """The whole evaluation in one call (what ``hanstack eval retrieval`` runs)."""
    from hanstack.config import load_settings

    if tokenizer_name not in TOKENIZERS:
        raise InvalidInputError(
            f"unknown tokenizer {tokenizer_name!r}", hint=f"choose one of: {', '.join(TOKENIZERS)}"
        )
    corpus = load_corpus(corpus_path)
    queries = load_queries(queries_path)
    with tempfile.TemporaryDirectory(prefix="hanstack-eval-ws-") as ws:
        chunk_settings = load_settings(Path(ws), ingest=settings.ingest.model_dump() if settings else {})
        chunks = chunk_corpus(corpus, chunk_settings)
    with eval_retriever(
        chunks, tokenizer_name=tokenizer_name, embedder=embedder, settings=settings
    ) as retriever:
        report = evaluate(retriever, queries, mode=mode, fusion=fusion)
    report.tokenizer = tokenizer_name
    return report
