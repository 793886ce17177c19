"""Structure-aware chunking: legal structure, headings, budgets, overlap, exact spans."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from hanstack.ingest.chunker import AssembledDocument, ChunkingOptions, ChunkSpan, assemble, build_chunks
from hanstack.ingest.models import Block
from hanstack.ingest.structure import Level, detect_marker, split_segments
from hanstack.korean.analyzer import KiwiAnalyzer

DEMO = Path(__file__).resolve().parents[2] / "src" / "hanstack" / "data" / "demo"


@pytest.fixture(scope="module")
def count_tokens():
    from hanstack.tokenizers import get_tokenizer

    return get_tokenizer("qwen-2.5").count


def chunk(doc: AssembledDocument, kiwi: KiwiAnalyzer, count_tokens, **opts: int) -> list[ChunkSpan]:
    sents = kiwi.split_sentences_batch([doc.text[s.start : s.end] for s in doc.segments])
    return build_chunks(doc, sents, count_tokens, ChunkingOptions(**opts))


def constitution_blocks() -> list[Block]:
    text = (DEMO / "kolaw" / "constitution.txt").read_text(encoding="utf-8")
    return [Block(p) for p in text.split("\n\n") if p.strip()]


def test_markers() -> None:
    assert detect_marker("제1장 총강").level == Level.JANG  # type: ignore[union-attr]
    assert detect_marker("제10조의2(정의) 이 법에서").label == "제10조의2(정의)"  # type: ignore[union-attr]
    assert detect_marker("제10조에 따라 처리한다.") is None
    assert detect_marker("② 국가는").level == Level.HANG  # type: ignore[union-attr]
    assert detect_marker("가. 다음 각 목").level == Level.MOK  # type: ignore[union-attr]
    assert detect_marker("그냥 문장이다.") is None


def test_segments_cover_text() -> None:
    text = "제1장 총강\n  제1조 ① 대한민국은 민주공화국이다.\n②대한민국의 주권은 국민에게 있다.\n"
    segs = split_segments(text)
    assert [s for _, s in segs] == [
        "제1장 총강\n",
        "  제1조 ① 대한민국은 민주공화국이다.\n",
        "②대한민국의 주권은 국민에게 있다.\n",
    ]
    assert "".join(s for _, s in segs) == text


def test_every_article_of_the_constitution_starts_a_chunk(kiwi: KiwiAnalyzer, count_tokens) -> None:
    doc = assemble(constitution_blocks())
    chunks = chunk(doc, kiwi, count_tokens, budget_tokens=400, overlap_tokens=40)
    articles = re.findall(r"(?m)^제(\d+)조", doc.text)
    assert len(articles) == 130 + 6  # 130 articles + 부칙 제1-6조
    starts = {doc.text[c.start : c.start + 12] for c in chunks}
    for m in re.finditer(r"(?m)^제\d+조", doc.text):
        covering = [c for c in chunks if c.start <= m.start() < c.end]
        assert covering, f"article at {m.start()} not covered"
        # the article opens a chunk: no chunk begins before it and runs into it
        assert any(c.start == m.start() for c in chunks), doc.text[m.start() : m.start() + 20]
    assert starts


def test_section_path_of_an_article(kiwi: KiwiAnalyzer, count_tokens) -> None:
    doc = assemble(constitution_blocks())
    chunks = chunk(doc, kiwi, count_tokens, budget_tokens=400, overlap_tokens=0)
    art10 = next(c for c in chunks if doc.text[c.start :].startswith("제10조"))
    assert art10.section_path[0] == "제2장 국민의 권리와 의무"
    assert art10.section_path[1] == "제10조"
    first = next(c for c in chunks if doc.text[c.start :].startswith("제1조"))
    assert first.section_path[:2] == ("제1장 총강", "제1조")


def test_budget_respected_and_sentences_never_cut(kiwi: KiwiAnalyzer, count_tokens) -> None:
    doc = assemble(constitution_blocks())
    chunks = chunk(doc, kiwi, count_tokens, budget_tokens=60, overlap_tokens=15)
    assert len(chunks) > 136
    sentence_ends = set()
    oversize: list[tuple[int, int]] = []  # sentences over the budget: the one place a cut is allowed
    for seg in doc.segments:
        for s in kiwi.split_sentences(doc.text[seg.start : seg.end]):
            sentence_ends.add(seg.start + s.end)
            if count_tokens(s.text) > 60:
                oversize.append((seg.start + s.start, seg.start + s.end))
    assert oversize, "the preamble is one long sentence"
    for c in chunks:
        inside_long = any(a <= c.start and c.end <= b for a, b in oversize)
        assert c.end in sentence_ends or inside_long, doc.text[c.start : c.end][-30:]
        assert c.token_count <= 60
        assert c.token_count == count_tokens(doc.text[c.start : c.end])


def test_overlap_repeats_whole_sentences_within_an_article(kiwi: KiwiAnalyzer, count_tokens) -> None:
    text = "제1조 " + " ".join(f"이것은 {i}번째 문장입니다." for i in range(1, 30))
    doc = assemble([Block(text)])
    chunks = chunk(doc, kiwi, count_tokens, budget_tokens=50, overlap_tokens=20)
    assert len(chunks) >= 3
    for a, b in itertools.pairwise(chunks):
        assert b.start < a.end, "consecutive chunks overlap"
        assert b.start > a.start
    # but no overlap across an article boundary
    doc2 = assemble([Block("제1조 첫 조문이다. 둘째 문장이다.\n제2조 다음 조문이다.")])
    c2 = chunk(doc2, kiwi, count_tokens, budget_tokens=50, overlap_tokens=20)
    assert [doc2.text[c.start : c.end] for c in c2] == [
        "제1조 첫 조문이다. 둘째 문장이다.",
        "제2조 다음 조문이다.",
    ]


def test_markdown_headings_become_the_path(kiwi: KiwiAnalyzer, count_tokens) -> None:
    blocks = [
        Block("요금 안내", heading_level=1),
        Block("기본 요금", heading_level=2),
        Block("월 기본료는 만 원이다."),
        Block("할인", heading_level=2),
        Block("가족 결합 시 10% 할인된다."),
    ]
    doc = assemble(blocks)
    chunks = chunk(doc, kiwi, count_tokens, budget_tokens=100, overlap_tokens=0)
    assert [c.section_path for c in chunks] == [("요금 안내", "기본 요금"), ("요금 안내", "할인")]


def test_pages_are_kept(kiwi: KiwiAnalyzer, count_tokens) -> None:
    doc = assemble([Block("첫 쪽 문장이다.", page=1), Block("둘째 쪽 문장이다.", page=2)])
    chunks = chunk(doc, kiwi, count_tokens, budget_tokens=100, overlap_tokens=0)
    assert len(chunks) == 1 and (chunks[0].page_start, chunks[0].page_end) == (1, 2)


def test_oversize_sentence_is_cut_at_spaces(kiwi: KiwiAnalyzer, count_tokens) -> None:
    text = " ".join(["국민의"] * 200)
    doc = assemble([Block(text)])
    chunks = chunk(doc, kiwi, count_tokens, budget_tokens=40, overlap_tokens=0)
    assert len(chunks) > 3
    for c in chunks:
        piece = doc.text[c.start : c.end]
        assert not piece.startswith(" ") and not piece.endswith(" ")
        assert set(piece.split()) == {"국민의"}


def test_terms_come_from_the_same_analysis(kiwi: KiwiAnalyzer, count_tokens) -> None:
    doc = assemble([Block("모든 국민은 법 앞에 평등하다.")])
    (only,) = chunk(doc, kiwi, count_tokens)
    assert {"국민", "법", "평등"} <= set(only.terms)


def test_hard_wrapped_lines_are_rejoined() -> None:
    from hanstack.ingest.chunker import unwrap_lines

    blocks = [
        Block("제안이유 및 주요내용"),
        Block("초등학교 저학년의 경우에도 부모의 따뜻한 사랑과 보살핌이 필요"),
        Block("한 나이이나, 현재 공무원이 자녀를 양육하기 위하여 육아휴직을 할"),
        Block("수 있을 것임."),
        Block("② 다음 항은 따로 시작한다"),
        Block("배송이 너무 늦어서 정말 답답하고 화가 나네요"),
        Block("다음 문장"),
    ]
    out = [b.text for b in unwrap_lines(blocks)]
    assert out == [
        "제안이유 및 주요내용",
        "초등학교 저학년의 경우에도 부모의 따뜻한 사랑과 보살핌이 필요\n한 나이이나, 현재 공무원이 자녀를 양육하기 위하여 육아휴직을 할\n수 있을 것임.",
        "② 다음 항은 따로 시작한다",
        "배송이 너무 늦어서 정말 답답하고 화가 나네요",
        "다음 문장",
    ]


def test_supplementary_provisions_restart_the_path(kiwi: KiwiAnalyzer, count_tokens) -> None:
    doc = assemble(constitution_blocks())
    chunks = chunk(doc, kiwi, count_tokens, budget_tokens=400, overlap_tokens=0)
    last = chunks[-1]
    assert last.section_path[0] == "부칙", last.section_path
    assert detect_marker("부칙에 따라 정한다") is None
