"""Structure-aware chunking under a token budget.

Rules, in order of precedence:
1. A heading (Markdown/HTML/DOCX) or a 편/장/절/관/조 marker closes the current chunk: an article
   (제N조) always starts a chunk, so a citation never mixes two articles.
2. Chunks are whole sentences (Kiwi's splitter); a chunk grows until the next sentence would
   exceed the budget, measured with the serving model's real tokenizer.
3. Overlap repeats trailing whole sentences of the previous chunk (up to ``overlap_tokens``) but
   never across a hard boundary.
4. A single sentence longer than the budget is the one case where text is cut inside a sentence:
   at eojeol (space) boundaries, so no word is split.

The chunker is pure: it takes the normalised document text, its segments and their sentences
(with morphemes, from one analyzer pass) and returns spans; it does no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from hanstack.ingest.models import Block
from hanstack.ingest.structure import Level, Marker, detect_marker, is_heading_only, split_segments
from hanstack.korean.analyzer import Sentence, terms_from_morphemes
from hanstack.korean.normalize import normalize_text

BLOCK_SEPARATOR = "\n\n"


@dataclass(frozen=True, slots=True)
class Segment:
    """A run of text inside one block that opens with at most one structural marker."""

    start: int
    end: int
    page: int | None
    heading_level: int = 0
    marker: Marker | None = None


@dataclass(frozen=True, slots=True)
class AssembledDocument:
    text: str
    segments: tuple[Segment, ...]


# Sentence-final punctuation, or a final ending (-다, -음/-함/-임 of official style, -요 of polite
# speech but not the 요 of nouns such as 필요/중요).
_SENTENCE_END = re.compile(
    r"(?:[.?!。…:;]|(?:[다음함임됨까죠]|[어아에예해세까네지데래게되와워봐줘]요)\.?)[\"'”’)\]]*$"
)
WRAP_MIN_CHARS = 20


def unwrap_lines(blocks: Sequence[Block]) -> list[Block]:
    """Rejoin paragraphs that a fixed-width export hard-wrapped mid-sentence.

    Legacy Korean text (HWP→TXT exports, bills, some PDF text layers) breaks lines at a fixed width,
    often inside a word (``…보살핌이 필요`` / ``한 나이이나``). Sentence splitting and quoting need the
    sentence whole, so a paragraph that does not end a sentence is joined with the next one (by a
    newline, which keeps the text faithful) unless the next one opens a structural unit.
    """
    out: list[Block] = []
    for block in blocks:
        prev = out[-1] if out else None
        if (
            prev is not None
            and prev.kind == block.kind == "paragraph"
            and prev.heading_level == block.heading_level == 0
            and prev.page == block.page
            and len(prev.text.rstrip().rsplit("\n", 1)[-1]) >= WRAP_MIN_CHARS
            and not _SENTENCE_END.search(prev.text.rstrip())
            and block.text.strip()
            and detect_marker(block.text) is None
        ):
            out[-1] = Block(prev.text.rstrip() + "\n" + block.text.strip(), prev.page, 0, prev.kind)
        else:
            out.append(block)
    return out


def assemble(blocks: Sequence[Block]) -> AssembledDocument:
    """Normalise blocks, join them into the document text and cut them into segments."""
    blocks = unwrap_lines(blocks)
    parts: list[str] = []
    segments: list[Segment] = []
    cursor = 0
    for block in blocks:
        text = normalize_text(block.text)
        if not text:
            continue
        if parts:
            cursor += len(BLOCK_SEPARATOR)
        parts.append(text)
        if block.heading_level > 0:
            segments.append(Segment(cursor, cursor + len(text), block.page, block.heading_level))
        else:
            for offset, piece in split_segments(text):
                stripped_start = offset + (len(piece) - len(piece.lstrip()))
                stripped_end = offset + len(piece.rstrip())
                segments.append(
                    Segment(
                        cursor + stripped_start, cursor + stripped_end, block.page, 0, detect_marker(piece)
                    )
                )
        cursor += len(text)
    return AssembledDocument(BLOCK_SEPARATOR.join(parts), tuple(segments))


@dataclass(frozen=True, slots=True)
class ChunkSpan:
    """A chunk before it gets ids and provenance: a span of the document text."""

    start: int
    end: int
    section_path: tuple[str, ...]
    page_start: int | None
    page_end: int | None
    token_count: int
    terms: tuple[str, ...]


@dataclass(slots=True)
class _Piece:
    start: int
    end: int
    page: int | None
    tokens: int
    terms: list[str]


@dataclass(slots=True)
class _Path:
    """The current section path: Markdown headings and legal units, each with its level."""

    items: list[tuple[int, str]] = field(default_factory=list)

    def enter(self, level: int, label: str) -> None:
        self.items = [(lv, lb) for lv, lb in self.items if lv < level]
        self.items.append((level, label))

    def labels(self, *, below: int | None = None) -> tuple[str, ...]:
        return tuple(lb for lv, lb in self.items if below is None or lv < below)


@dataclass(frozen=True, slots=True)
class ChunkingOptions:
    budget_tokens: int = 400
    overlap_tokens: int = 40


def build_chunks(
    doc: AssembledDocument,
    sentences: Sequence[Sequence[Sentence]],
    count_tokens: Callable[[str], int],
    options: ChunkingOptions = ChunkingOptions(),
) -> list[ChunkSpan]:
    """Pack the sentences of each segment into chunks (see the module docstring for the rules).

    ``sentences[i]`` are the sentences of ``doc.segments[i]`` with offsets relative to the segment.
    """
    if len(sentences) != len(doc.segments):
        raise ValueError(f"{len(sentences)} sentence lists for {len(doc.segments)} segments")
    chunks: list[ChunkSpan] = []
    path = _Path()
    current: list[_Piece] = []
    current_path: tuple[str, ...] = ()
    tokens_in_current = 0

    def flush(keep_overlap: bool) -> None:
        nonlocal current, tokens_in_current
        if current:
            chunks.append(_span(doc.text, current, current_path, count_tokens))
        carried: list[_Piece] = []
        if keep_overlap and options.overlap_tokens > 0:
            total = 0
            for piece in reversed(current):
                if total + piece.tokens > options.overlap_tokens:
                    break
                carried.insert(0, piece)
                total += piece.tokens
            # Overlap only makes sense if something new follows; never a chunk of only overlap.
            if len(carried) == len(current):
                carried = carried[1:]
        current = carried
        tokens_in_current = sum(p.tokens for p in current)

    for segment, sents in zip(doc.segments, sentences, strict=True):
        seg_text = doc.text[segment.start : segment.end]
        if segment.heading_level > 0:
            flush(keep_overlap=False)
            path.enter(segment.heading_level, seg_text.strip())
            continue
        marker = segment.marker
        if marker is not None and marker.level <= Level.JO:
            # 편/장/절/관/조 are hard boundaries; a heading-only line is path, not content.
            flush(keep_overlap=False)
            heading_only = is_heading_only(seg_text, marker)
            path.enter(marker.level, marker.heading_text if marker.level < Level.JO else marker.label)
            if heading_only:
                continue
        elif marker is not None:
            path.enter(marker.level, marker.label)
        for piece in _pieces(doc.text, segment, sents, count_tokens, options.budget_tokens):
            if current and _overflows(
                doc.text, current, tokens_in_current, piece, count_tokens, options.budget_tokens
            ):
                flush(keep_overlap=True)
                while current and _overflows(
                    doc.text, current, tokens_in_current, piece, count_tokens, options.budget_tokens
                ):
                    tokens_in_current -= current.pop(0).tokens
                current_path = path.labels(below=Level.HO)
            elif not current:
                # The path where the chunk starts, down to the 항: 제2장 > 제10조 > ②.
                current_path = path.labels(below=Level.HO)
            current.append(piece)
            tokens_in_current += piece.tokens
    flush(keep_overlap=False)
    return chunks


def _overflows(
    text: str,
    current: list[_Piece],
    tokens: int,
    piece: _Piece,
    count_tokens: Callable[[str], int],
    budget: int,
) -> bool:
    """Would adding ``piece`` push the chunk over the budget?

    The sum of sentence counts plus one token per gap is a cheap estimate; near the budget the
    exact count of the joined text decides, since BPE merges across the gaps.
    """
    estimate = tokens + len(current) + piece.tokens
    if estimate <= budget - 8:
        return False
    return count_tokens(text[current[0].start : piece.end]) > budget


def _pieces(
    text: str,
    segment: Segment,
    sents: Sequence[Sentence],
    count_tokens: Callable[[str], int],
    budget: int,
) -> list[_Piece]:
    """Sentences of a segment as absolute spans with token counts; oversize ones cut at spaces."""
    out: list[_Piece] = []
    if not sents:
        sents = [Sentence(text[segment.start : segment.end], 0, segment.end - segment.start)]
    for s in sents:
        start, end = segment.start + s.start, segment.start + s.end
        body = text[start:end]
        if not body.strip():
            continue
        tokens = count_tokens(body)
        terms = terms_from_morphemes(s.morphemes)
        if tokens <= budget:
            out.append(_Piece(start, end, segment.page, tokens, terms))
            continue
        out.extend(_cut_long_sentence(text, start, end, segment.page, count_tokens, budget, terms))
    return out


def _cut_long_sentence(
    text: str,
    start: int,
    end: int,
    page: int | None,
    count_tokens: Callable[[str], int],
    budget: int,
    terms: list[str],
) -> list[_Piece]:
    words: list[tuple[int, int]] = []
    i = start
    while i < end:
        while i < end and text[i].isspace():
            i += 1
        j = i
        while j < end and not text[j].isspace():
            j += 1
        if j > i:
            words.append((i, j))
        i = j
    pieces: list[_Piece] = []
    piece_start = words[0][0] if words else start
    last_end = piece_start
    for w_start, w_end in words:
        if w_end > piece_start and count_tokens(text[piece_start:w_end]) > budget and last_end > piece_start:
            pieces.append(_Piece(piece_start, last_end, page, count_tokens(text[piece_start:last_end]), []))
            piece_start = w_start
        last_end = w_end
    if last_end > piece_start:
        pieces.append(_Piece(piece_start, last_end, page, count_tokens(text[piece_start:last_end]), []))
    # Terms of the whole sentence go with its first piece: they are not needed twice.
    if pieces:
        pieces[0].terms = terms
    return pieces


def _span(
    text: str, pieces: list[_Piece], section_path: tuple[str, ...], count_tokens: Callable[[str], int]
) -> ChunkSpan:
    start, end = pieces[0].start, pieces[-1].end
    pages = [p.page for p in pieces if p.page is not None]
    terms = [t for p in pieces for t in p.terms]
    return ChunkSpan(
        start=start,
        end=end,
        section_path=section_path,
        page_start=min(pages) if pages else None,
        page_end=max(pages) if pages else None,
        token_count=count_tokens(text[start:end]),
        terms=tuple(terms),
    )
