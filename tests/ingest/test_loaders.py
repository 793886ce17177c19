"""Each loader on a real document of its format: structure kept, Korean text round-trips exactly."""

from __future__ import annotations

import codecs
import unicodedata
from pathlib import Path

import pytest

from hanstack.ingest.loaders import LoaderLimits, iter_jsonl_records, load_document, supported_suffixes
from hanstack.ingest.models import LoadedDocument
from hanstack.korean import normalize_text
from tests.conftest import shared_path
from tests.ingest.fixtures import builders as fx
from tests.ingest.fixtures.builders import HEADING, SENTENCES, TABLE, TITLE

LIMITS = LoaderLimits()


def full_text(doc: LoadedDocument) -> str:
    return normalize_text("\n\n".join(b.text for b in doc.blocks))


def assert_korean_round_trip(doc: LoadedDocument, sentences=SENTENCES) -> None:
    text = full_text(doc)
    for sentence in sentences:
        assert normalize_text(sentence) in text, f"{sentence!r} lost; got {text[:300]!r}"


def kinds(doc: LoadedDocument) -> list[str]:
    return [b.kind for b in doc.blocks]


def test_registry_lists_every_format() -> None:
    assert set(supported_suffixes()) >= {
        ".txt",
        ".md",
        ".html",
        ".htm",
        ".pdf",
        ".docx",
        ".hwpx",
        ".hwp",
        ".jsonl",
    }
    assert all(s.startswith(".") and s == s.lower() for s in supported_suffixes())


# --- text ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("encoding", "prefix", "reported"),
    [
        ("utf-8", b"", "utf-8"),
        ("utf-8", codecs.BOM_UTF8, "utf-8"),
        ("utf-16-le", codecs.BOM_UTF16_LE, "utf-16"),
        ("utf-16-be", codecs.BOM_UTF16_BE, "utf-16"),
        ("cp949", b"", "euc-kr/cp949"),
        ("euc-kr", b"", "euc-kr/cp949"),
    ],
)
def test_text_in_every_korean_encoding(tmp_path: Path, encoding: str, prefix: bytes, reported: str) -> None:
    body = "\n\n".join([HEADING, *SENTENCES]) + "\n"
    if encoding == "euc-kr":
        body = body.replace("·", ",")  # the middle dot is outside EUC-KR's repertoire in some codecs
    path = tmp_path / "doc.txt"
    path.write_bytes(prefix + body.encode(encoding))
    doc = load_document(path, LIMITS)
    assert doc.encoding == reported
    assert [b.text for b in doc.blocks] == [
        HEADING,
        *(s.replace("·", ",") if encoding == "euc-kr" else s for s in SENTENCES),
    ]
    assert all(b.kind == "paragraph" and b.page is None for b in doc.blocks)
    assert not any("\ufeff" in b.text for b in doc.blocks)


def test_text_keeps_lines_inside_paragraphs_and_nfd_normalises(tmp_path: Path) -> None:
    nfd = unicodedata.normalize("NFD", "제1조(목적)\n이 법은 국민의 권리를 보호한다.")
    path = tmp_path / "nfd.txt"
    path.write_text(nfd + "\r\n\r\n   \r\n둘째 문단", encoding="utf-8")
    doc = load_document(path, LIMITS)
    assert len(doc.blocks) == 2
    assert normalize_text(doc.blocks[0].text) == "제1조(목적)\n이 법은 국민의 권리를 보호한다."


def test_markdown_headings_lists_tables_code_and_front_matter(tmp_path: Path) -> None:
    md = "\n".join(
        [
            "---",
            f"title: {TITLE}",
            "author: 국회",
            "---",
            f"# {HEADING}",
            "",
            SENTENCES[0],
            "이어지는 줄은 같은 문단이다.",
            "",
            "## 제1조 ##",
            "",
            f"- {SENTENCES[1]}",
            "- 둘째 [항목](https://example.com/a)",
            "",
            "| 구분 | 내용 |",
            "|---|:---:|",
            "| 명칭 | 누리호 |",
            "",
            "```",
            "# 코드 안의 샵은 제목이 아니다",
            "```",
            "",
            "세부 사항",
            "--------",
            "",
            SENTENCES[2],
        ]
    )
    path = tmp_path / "doc.md"
    path.write_text(md, encoding="utf-8")
    doc = load_document(path, LIMITS)
    assert doc.title == TITLE
    headings = [(b.heading_level, b.text) for b in doc.blocks if b.heading_level]
    assert headings == [(1, HEADING), (2, "제1조"), (2, "세부 사항")]
    assert doc.blocks[1].text == f"{SENTENCES[0]}\n이어지는 줄은 같은 문단이다."
    assert [b.text for b in doc.blocks if b.kind == "list_item"] == [SENTENCES[1], "둘째 항목"]
    assert [b.text for b in doc.blocks if b.kind == "table_row"] == ["구분 | 내용", "명칭 | 누리호"]
    assert [b.text for b in doc.blocks if b.kind == "code"] == ["# 코드 안의 샵은 제목이 아니다"]
    assert "author" not in full_text(doc)
    assert_korean_round_trip(doc)


def test_markdown_title_falls_back_to_first_heading(tmp_path: Path) -> None:
    path = tmp_path / "doc.md"
    path.write_bytes(f"서문\n\n# {HEADING}\n\n{SENTENCES[0]}\n".encode("cp949"))
    doc = load_document(path, LIMITS)
    assert doc.title == HEADING and doc.encoding == "euc-kr/cp949"


# --- HTML ----------------------------------------------------------------------------------------
def test_html_structure_and_dropped_chrome(tmp_path: Path) -> None:
    doc = load_document(fx.korean_html(tmp_path / "doc.html"), LIMITS)
    assert doc.title == TITLE and doc.encoding == "utf-8"
    assert [(b.heading_level, b.text) for b in doc.blocks if b.heading_level] == [(1, HEADING), (2, "제1조")]
    text = full_text(doc)
    for dropped in ("스크립트는 버린다", "color: red", "메뉴 항목", "숨겨진 문장"):
        assert dropped not in text
    assert "누리호 이야기다" in text  # inline markup joins without splitting the word
    assert [b.text for b in doc.blocks if b.kind == "table_row"] == ["구분 | 내용", "명칭 | 누리호"]
    assert [b.text for b in doc.blocks if b.kind == "list_item"] == ["첫째 항목", "둘째 항목", "중첩 항목"]
    second = next(b for b in doc.blocks if b.text.startswith(SENTENCES[1]))
    assert second.text == f"{SENTENCES[1]}\n둘째 줄은 누리호 이야기다."
    assert_korean_round_trip(doc)


@pytest.mark.parametrize(
    ("encoding", "charset"), [("cp949", "euc-kr"), ("cp949", "ks_c_5601-1987"), ("cp949", "utf-8")]
)
def test_html_legacy_korean_encodings(tmp_path: Path, encoding: str, charset: str) -> None:
    """Korean sites declare euc-kr but use CP949; a wrong declaration falls back to sniffing."""
    doc = load_document(fx.korean_html(tmp_path / "doc.htm", encoding=encoding, charset=charset), LIMITS)
    assert doc.encoding == "euc-kr/cp949"
    assert_korean_round_trip(doc)


# --- PDF -----------------------------------------------------------------------------------------
def test_pdf_pages_and_title(tmp_path: Path) -> None:
    pages = [[HEADING, SENTENCES[0]], [SENTENCES[1]], [SENTENCES[2], "표: 구분 내용"]]
    doc = load_document(fx.korean_pdf(tmp_path / "doc.pdf", pages), LIMITS)
    assert doc.title == TITLE
    assert doc.metadata["pages"] == 3
    assert {b.page for b in doc.blocks} == {1, 2, 3}
    for number, lines in enumerate(pages, start=1):
        page_text = normalize_text("\n".join(b.text for b in doc.blocks if b.page == number))
        for line in lines:
            assert normalize_text(line) in page_text
    assert_korean_round_trip(doc)


def test_pdf_with_empty_user_password_is_read(tmp_path: Path) -> None:
    src = fx.korean_pdf(tmp_path / "plain.pdf", [[SENTENCES[0]]])
    doc = load_document(fx.encrypted_pdf(src, tmp_path / "locked.pdf", user_password=""), LIMITS)
    assert_korean_round_trip(doc, SENTENCES[:1])


def test_pdf_without_title_metadata(tmp_path: Path) -> None:
    doc = load_document(fx.korean_pdf(tmp_path / "doc.pdf", [[SENTENCES[0]]], title=None), LIMITS)
    assert doc.title is None


# --- DOCX ----------------------------------------------------------------------------------------
def test_docx_headings_tables_in_document_order(tmp_path: Path) -> None:
    doc = load_document(fx.korean_docx(tmp_path / "doc.docx"), LIMITS)
    assert doc.title == TITLE
    assert [(b.kind, b.heading_level, b.text) for b in doc.blocks] == [
        ("heading", 1, HEADING),
        ("paragraph", 0, SENTENCES[0]),
        ("heading", 2, "제1조"),
        ("paragraph", 0, SENTENCES[1]),
        *(("table_row", 0, " | ".join(row)) for row in TABLE),
        ("table_row", 0, "병합된 셀"),  # a merged cell is not repeated per grid column
        ("paragraph", 0, SENTENCES[2]),
    ]
    assert_korean_round_trip(doc)


def test_docx_title_falls_back_to_first_heading(tmp_path: Path) -> None:
    doc = load_document(fx.korean_docx(tmp_path / "doc.docx", title=None), LIMITS)
    assert doc.title == HEADING


# --- HWPX ----------------------------------------------------------------------------------------
def test_hwpx_paragraphs_outline_heading_and_table(tmp_path: Path) -> None:
    doc = load_document(fx.korean_hwpx(tmp_path / "doc.hwpx"), LIMITS)
    assert [(b.kind, b.heading_level, b.text) for b in doc.blocks] == [
        ("heading", 1, HEADING),
        ("paragraph", 0, SENTENCES[0]),
        ("paragraph", 0, SENTENCES[1]),
        *(("table_row", 0, " | ".join(row)) for row in TABLE),
        ("paragraph", 0, SENTENCES[2]),
    ]
    assert doc.title == TITLE
    assert load_document(fx.korean_hwpx(tmp_path / "untitled.hwpx", title=None), LIMITS).title == HEADING
    assert_korean_round_trip(doc)


def test_hwpx_sections_follow_the_spine_and_line_breaks_survive(tmp_path: Path) -> None:
    src = fx.korean_hwpx(tmp_path / "src.hwpx")
    hp = 'xmlns:hp="http://www.hancom.co.kr/hwpml/2011/paragraph"'
    hs = 'xmlns:hs="http://www.hancom.co.kr/hwpml/2011/section"'
    second = (
        f'<hs:sec {hs} {hp}><hp:p paraPrIDRef="0"><hp:run><hp:t>둘째 구역<hp:lineBreak/>다음 줄'
        "</hp:t></hp:run></hp:p></hs:sec>"
    ).encode()
    import zipfile

    with zipfile.ZipFile(src) as z:
        hpf = z.read("Contents/content.hpf").decode()
    hpf = hpf.replace(
        '<opf:item id="section0"',
        '<opf:item id="section1" href="Contents/section1.xml" media-type="application/xml"/><opf:item id="section0"',
    ).replace(
        '<opf:itemref idref="section0" linear="yes"/>',
        '<opf:itemref idref="section1" linear="yes"/><opf:itemref idref="section0" linear="yes"/>',
    )
    path = fx.rewrite_zip(
        src, tmp_path / "two.hwpx", {"Contents/section1.xml": second, "Contents/content.hpf": hpf.encode()}
    )
    doc = load_document(path, LIMITS)
    assert doc.blocks[0].text == "둘째 구역\n다음 줄"  # the spine puts section1 first
    assert doc.metadata["sections"] == 2
    assert_korean_round_trip(doc)


# --- HWP 5 ---------------------------------------------------------------------------------------
def test_hwp_built_in_the_test(tmp_path: Path) -> None:
    doc = load_document(fx.korean_hwp(tmp_path / "doc.hwp"), LIMITS)
    assert [(b.kind, b.heading_level, b.text) for b in doc.blocks] == [
        ("heading", 1, HEADING),
        ("paragraph", 0, SENTENCES[0]),
        ("paragraph", 0, SENTENCES[1]),
        *(("table_row", 0, " | ".join(row)) for row in TABLE),
        ("paragraph", 0, SENTENCES[2]),
    ]
    assert doc.metadata["format"] == "hwp" and doc.metadata["hwp_version"].startswith("5.")
    assert doc.title == TITLE  # from \x05HwpSummaryInformation (VT_LPWSTR)
    assert load_document(fx.korean_hwp(tmp_path / "untitled.hwp", title=None), LIMITS).title == HEADING
    assert_korean_round_trip(doc)


def _no_control_garbage(text: str) -> None:
    # An extended control decoded as text shows up as CJK ideographs built from ASCII pairs
    # ("secd" -> 捤獥, "cold" -> 汯捤); none of those belong in these Korean documents.
    for garbage in ("捤獥", "汯捤", "獥捤", "汤捯", "湰杰", "\x0b", "\x02"):
        assert garbage not in text


def test_hwp_real_press_release_noori() -> None:
    doc = load_document(shared_path("documents", "hwp", "noori.hwp"), LIMITS)
    text = full_text(doc)
    assert "누리" in text
    assert "한국형발사체의 새로운 명칭은 ‘누리’로 결정되었으며" in text
    _no_control_garbage(text)
    rows = [b.text for b in doc.blocks if b.kind == "table_row"]
    assert "구 분 | 한국형발사체(누리호) | 시험발사체" in rows
    assert "총 길이 | 47.2 m | 25.8 m" in rows


def test_hwp_real_report_template() -> None:
    doc = load_document(shared_path("documents", "hwp", "basicsReport.hwp"), LIMITS)
    text = full_text(doc)
    assert "리포트의 제목" in text and "차 례" in text
    _no_control_garbage(text)
    assert any(b.kind == "table_row" for b in doc.blocks)


# --- JSONL ---------------------------------------------------------------------------------------
def test_jsonl_records_with_metadata(tmp_path: Path) -> None:
    records = [
        {"id": "r1", "review": SENTENCES[0], "rating": 10},
        {"id": "r2", "review": SENTENCES[1], "rating": 3, "tags": ["법"]},
    ]
    path = fx.jsonl(tmp_path / "reviews.jsonl", records, raw_lines={2: "   "})
    assert list(iter_jsonl_records(path)) == [
        (1, SENTENCES[0], {"id": "r1", "rating": 10}),
        (3, SENTENCES[1], {"id": "r2", "rating": 3, "tags": ["법"]}),
    ]
    doc = load_document(path, LIMITS)
    assert kinds(doc) == ["record", "record"]
    assert doc.metadata["records"] == [
        {"lineno": 1, "id": "r1", "rating": 10},
        {"lineno": 3, "id": "r2", "rating": 3, "tags": ["법"]},
    ]
    assert_korean_round_trip(doc, SENTENCES[:2])


def test_jsonl_text_field_is_configurable(tmp_path: Path) -> None:
    path = fx.jsonl(tmp_path / "a.jsonl", [{"text": "메타", "본문": SENTENCES[2]}])
    assert [t for _, t, _ in iter_jsonl_records(path)] == ["메타"]
    assert [(t, m) for _, t, m in iter_jsonl_records(path, text_field="본문")] == [
        (SENTENCES[2], {"text": "메타"})
    ]
    assert load_document(path, LIMITS, text_field="본문").blocks[0].text == SENTENCES[2]


def test_jsonl_tries_the_default_fields_in_order(tmp_path: Path) -> None:
    path = fx.jsonl(
        tmp_path / "a.jsonl", [{"content": "가"}, {"body": "나"}, {"review": "다", "content": "라"}]
    )
    assert [t for _, t, _ in iter_jsonl_records(path)] == ["가", "나", "라"]
