"""Every kind of bad input fails alone, with the right error naming the file and what broke."""

from __future__ import annotations

from pathlib import Path

import pytest

from hanstack.errors import (
    ArchiveBombError,
    CorruptFileError,
    EncryptedFileError,
    FileTooLargeError,
    IngestError,
    UnsupportedFormatError,
)
from hanstack.ingest.loaders import LoaderLimits, iter_jsonl_records, load_document
from hanstack.ingest.loaders.hwp import para_text
from hanstack.ingest.loaders.limits import MB, SafeZip
from tests.conftest import shared_path
from tests.ingest.fixtures import builders as fx
from tests.ingest.fixtures.builders import SENTENCES

LIMITS = LoaderLimits()
# Small limits so a bomb test needs megabytes, not gigabytes.
BOMB_LIMITS = LoaderLimits(max_file_bytes=10 * MB, max_uncompressed_bytes=8 * MB, max_compression_ratio=100)


def fails(path: Path, error: type[IngestError], *needles: str, limits: LoaderLimits = LIMITS) -> IngestError:
    with pytest.raises(error) as info:
        load_document(path, limits)
    message = str(info.value)
    assert str(path) in message or path.name in message, message
    for needle in needles:
        assert needle in message, message
    return info.value


# --- what the registry refuses -------------------------------------------------------------------
def test_unsupported_suffix_lists_the_supported_ones(tmp_path: Path) -> None:
    path = tmp_path / "slides.pptx"
    path.write_bytes(b"PK")
    err = fails(path, UnsupportedFormatError, ".pptx")
    assert err.hint is not None and ".hwp" in err.hint and ".pdf" in err.hint
    nosuffix = tmp_path / "README"
    nosuffix.write_text("x")
    fails(nosuffix, UnsupportedFormatError, "no suffix")


@pytest.mark.parametrize("suffix", [".txt", ".pdf", ".docx", ".hwpx", ".hwp", ".jsonl", ".html"])
def test_oversize_file_in_every_format(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"big{suffix}"
    path.write_bytes(b"x" * 2048)
    err = fails(path, FileTooLargeError, "over the limit", limits=LoaderLimits(max_file_bytes=1024))
    assert err.http_status == 413


def test_missing_file_is_an_ingest_error(tmp_path: Path) -> None:
    fails(tmp_path / "gone.txt", IngestError, "cannot read")


# --- corrupt -------------------------------------------------------------------------------------
def test_truncated_pdf(tmp_path: Path) -> None:
    src = fx.korean_pdf(tmp_path / "ok.pdf", [[SENTENCES[0]], [SENTENCES[1]]])
    fails(fx.truncated(src, tmp_path / "cut.pdf"), CorruptFileError, "PDF")


def test_not_a_pdf(tmp_path: Path) -> None:
    path = tmp_path / "fake.pdf"
    path.write_text("<html>not a pdf</html>")
    fails(path, CorruptFileError, "%PDF-")


@pytest.mark.parametrize("builder", [fx.korean_docx, fx.korean_hwpx])
def test_truncated_zip_packages(tmp_path: Path, builder) -> None:
    src = builder(tmp_path / ("ok" + (".docx" if builder is fx.korean_docx else ".hwpx")))
    cut = fx.truncated(src, tmp_path / f"cut{src.suffix}", keep=0.6)
    fails(cut, CorruptFileError, "zip")


def test_docx_with_broken_xml(tmp_path: Path) -> None:
    src = fx.korean_docx(tmp_path / "ok.docx")
    bad = fx.rewrite_zip(src, tmp_path / "bad.docx", {"word/document.xml": b"<w:document><unclosed>"})
    fails(bad, CorruptFileError, "DOCX")


def test_zip_that_is_not_a_docx(tmp_path: Path) -> None:
    path = tmp_path / "other.docx"
    path.write_bytes(fx.zip_bytes({"hello.txt": b"hi"}))
    fails(path, CorruptFileError, "not a Word document")


def test_hwpx_with_broken_section_xml(tmp_path: Path) -> None:
    src = fx.korean_hwpx(tmp_path / "ok.hwpx")
    bad = fx.rewrite_zip(src, tmp_path / "bad.hwpx", {"Contents/section0.xml": b"<hs:sec><hp:p>"})
    fails(bad, CorruptFileError, "section0.xml", "not well-formed")


def test_hwpx_refuses_entity_declarations(tmp_path: Path) -> None:
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;">]><hs:sec>&b;</hs:sec>'
    )
    src = fx.korean_hwpx(tmp_path / "ok.hwpx")
    fails(
        fx.rewrite_zip(src, tmp_path / "bad.hwpx", {"Contents/section0.xml": laughs}),
        CorruptFileError,
        "entities",
    )


def test_hwpx_without_sections(tmp_path: Path) -> None:
    path = tmp_path / "empty.hwpx"
    path.write_bytes(fx.zip_bytes({"mimetype": b"application/hwp+zip"}))
    fails(path, CorruptFileError, "section")


def test_truncated_hwp(tmp_path: Path) -> None:
    src = shared_path("documents", "hwp", "noori.hwp")
    fails(fx.truncated(src, tmp_path / "cut.hwp"), CorruptFileError, "HWP")


def test_truncated_hwp_built_in_the_test(tmp_path: Path) -> None:
    src = fx.korean_hwp(tmp_path / "ok.hwp")
    fails(fx.truncated(src, tmp_path / "cut.hwp", keep=0.7), CorruptFileError)


def test_hwp_that_is_not_ole(tmp_path: Path) -> None:
    path = tmp_path / "fake.hwp"
    path.write_text("제목: 한글 파일이 아님", encoding="utf-8")
    fails(path, CorruptFileError, "OLE")
    old = tmp_path / "old.hwp"
    old.write_bytes(b"HWP Document File V3.00 \x1a\x01\x02\x03\x04\x05" + bytes(100))
    fails(old, UnsupportedFormatError, "HWP 3.0")


def test_hwp_with_damaged_body_stream(tmp_path: Path) -> None:
    import olefile
    from hwpx.hwp5.cfb import build_compound_file

    src = fx.korean_hwp(tmp_path / "ok.hwp")
    with olefile.OleFileIO(str(src)) as ole:
        streams = [("/".join(e), ole.openstream(e).read()) for e in ole.listdir()]
    damaged = [(n, b"\xff" * 64 if n == "BodyText/Section0" else d) for n, d in streams]
    path = tmp_path / "bad.hwp"
    path.write_bytes(build_compound_file(damaged))
    fails(path, CorruptFileError, "BodyText/Section0")


def test_text_that_is_no_known_encoding_still_fails_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbf" + "한국어".encode("cp949"))  # a UTF-8 BOM on CP949 bytes
    fails(path, CorruptFileError, "utf-8")


def test_jsonl_malformed_line_is_named(tmp_path: Path) -> None:
    path = fx.jsonl(
        tmp_path / "r.jsonl", [{"text": "가"}, {"text": "나"}], raw_lines={2: '{"text": "깨진 줄'}
    )
    err = fails(path, CorruptFileError, ":2:", "line 2", "not valid JSON")
    assert err.hint
    with pytest.raises(CorruptFileError, match="line 2"):
        list(iter_jsonl_records(path))


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ('["배열"]', "not an object"),
        ('{"title": "본문 없음"}', "no text field"),
        ('{"text": 3}', "not a string"),
    ],
)
def test_jsonl_bad_records(tmp_path: Path, line: str, needle: str) -> None:
    path = fx.jsonl(tmp_path / "r.jsonl", [{"text": "가"}], raw_lines={2: line})
    fails(path, CorruptFileError, "line 2", needle)


def test_jsonl_must_be_utf8(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes('{"text": "가"}\n'.encode() + '{"text": "나"}\n'.encode("cp949"))
    fails(path, CorruptFileError, "line 2", "not UTF-8")


def test_jsonl_missing_named_field(tmp_path: Path) -> None:
    path = fx.jsonl(tmp_path / "r.jsonl", [{"text": "가"}])
    with pytest.raises(CorruptFileError, match="'본문'"):
        load_document(path, LIMITS, text_field="본문")


# --- encrypted -----------------------------------------------------------------------------------
def test_password_protected_pdf(tmp_path: Path) -> None:
    src = fx.korean_pdf(tmp_path / "ok.pdf", [[SENTENCES[0]]])
    fails(
        fx.encrypted_pdf(src, tmp_path / "locked.pdf", user_password="비밀"), EncryptedFileError, "password"
    )


def test_password_protected_docx_is_an_ole_file(tmp_path: Path) -> None:
    fails(fx.encrypted_ooxml(tmp_path / "locked.docx"), EncryptedFileError, "password-protected")


def test_legacy_doc_renamed_to_docx(tmp_path: Path) -> None:
    from hwpx.hwp5.cfb import build_compound_file

    path = tmp_path / "legacy.docx"
    path.write_bytes(build_compound_file([("WordDocument", bytes(1024))]))
    fails(path, CorruptFileError, "OLE compound file")


def test_zip_level_encryption(tmp_path: Path) -> None:
    src = fx.korean_docx(tmp_path / "ok.docx")
    data = bytearray(src.read_bytes())
    central = data.find(b"PK\x01\x02")
    data[central + 8] |= 0x1  # general purpose flag bit 0: encrypted
    path = tmp_path / "zipcrypto.docx"
    path.write_bytes(bytes(data))
    fails(path, EncryptedFileError, "encrypted")


def test_password_protected_hwpx(tmp_path: Path) -> None:
    src = fx.korean_hwpx(tmp_path / "ok.hwpx")
    locked = fx.rewrite_zip(src, tmp_path / "locked.hwpx", {"META-INF/manifest.xml": fx.ENCRYPTED_MANIFEST})
    fails(locked, EncryptedFileError, "password-protected")


@pytest.mark.parametrize(
    ("flag", "needle"),
    [(1 << 1, "password-encrypted"), (1 << 2, "distribution document"), (1 << 4, "DRM")],
)
def test_protected_hwp(tmp_path: Path, flag: int, needle: str) -> None:
    src = fx.korean_hwp(tmp_path / "ok.hwp")
    err = fails(fx.hwp_with_flags(src, tmp_path / "locked.hwp", flag), EncryptedFileError, needle)
    assert err.hint


# --- zip bombs -----------------------------------------------------------------------------------
@pytest.mark.parametrize("builder", [fx.korean_docx, fx.korean_hwpx])
def test_declared_size_over_the_budget(tmp_path: Path, builder) -> None:
    suffix = ".docx" if builder is fx.korean_docx else ".hwpx"
    src = builder(tmp_path / f"ok{suffix}")
    bomb = fx.zip_bomb(src, tmp_path / f"bomb{suffix}", member="Contents/bomb.xml", size=12 * MB)
    limits = LoaderLimits(max_file_bytes=10 * MB, max_uncompressed_bytes=8 * MB, max_compression_ratio=5000)
    fails(bomb, ArchiveBombError, "zip bomb", "MiB uncompressed", limits=limits)


@pytest.mark.parametrize("builder", [fx.korean_docx, fx.korean_hwpx])
def test_compression_ratio_over_the_limit(tmp_path: Path, builder) -> None:
    suffix = ".docx" if builder is fx.korean_docx else ".hwpx"
    src = builder(tmp_path / f"ok{suffix}")
    bomb = fx.zip_bomb(src, tmp_path / f"bomb{suffix}", member="word/media/zeros.bin", size=4 * MB)
    err = fails(bomb, ArchiveBombError, "compression ratio", limits=BOMB_LIMITS)
    assert err.http_status == 413


@pytest.mark.parametrize("builder", [fx.korean_docx, fx.korean_hwpx])
def test_lying_header_is_caught_by_the_capped_reader(tmp_path: Path, builder) -> None:
    """Headers claim 1 KB; the member really inflates to 6 MiB. Only the capped read can tell."""
    suffix = ".docx" if builder is fx.korean_docx else ".hwpx"
    src = builder(tmp_path / f"ok{suffix}")
    liar = fx.lying_zip(
        src, tmp_path / f"liar{suffix}", member="Contents/section9.xml", size=6 * MB, declared=1000
    )
    fails(liar, ArchiveBombError, "inflates past its declared size", limits=BOMB_LIMITS)


def test_capped_reader_charges_the_archive_budget(tmp_path: Path) -> None:
    """Every read counts against one budget, so reading members again cannot exceed it either."""
    src = fx.korean_hwpx(tmp_path / "ok.hwpx")
    members = {f"BinData/p{i}.bin": bytes(range(256)) * 4096 for i in range(3)}  # 1 MiB each
    path = fx.rewrite_zip(src, tmp_path / "big.hwpx", members)
    limits = LoaderLimits(
        max_file_bytes=10 * MB, max_uncompressed_bytes=int(3.5 * MB), max_compression_ratio=10_000
    )
    with SafeZip(path, limits, kind="HWPX") as archive:
        for name in members:
            assert archive.read(name) == members[name]
        with pytest.raises(ArchiveBombError, match="budget"):
            archive.read("BinData/p0.bin")


def test_hwp_body_stream_bomb(tmp_path: Path) -> None:
    src = fx.korean_hwp(tmp_path / "ok.hwp")
    err = fails(src, ArchiveBombError, "inflates past", limits=LoaderLimits(max_uncompressed_bytes=1000))
    assert "zip bomb" in str(err)


# --- no text layer -------------------------------------------------------------------------------
def test_scanned_pdf_needs_ocr(tmp_path: Path) -> None:
    err = fails(fx.scanned_pdf(tmp_path / "scan.pdf"), IngestError, "needs OCR")
    assert err.hint is not None and "ocr" in err.hint.lower()


# --- the decoder's control handling --------------------------------------------------------------
def test_para_text_skips_extended_controls() -> None:
    def units(*parts: str | int | tuple[int, bytes]) -> bytes:
        out = b""
        for part in parts:
            if isinstance(part, str):
                out += part.encode("utf-16-le")
            elif isinstance(part, tuple):  # an 8-unit control: code, 12 bytes of parameters, code
                code, params = part
                out += code.to_bytes(2, "little") + params + code.to_bytes(2, "little")
            else:
                out += part.to_bytes(2, "little")
        return out

    secd = (2, b"dces" + bytes(8))  # section definition: parameters spell 'secd' backwards
    tab = (9, bytes(12))
    field = (3, b"dlif" + bytes(8))
    payload = units(secd, "누리", tab, "호", field, " 발사", 10, "둘째 줄", 24, 30, 31, "끝", 13)
    assert para_text(payload) == "누리\t호 발사\n둘째 줄-\u00a0 끝"


def _rebuild_hwp(src: Path, path: Path, keep, replace: dict[str, bytes] | None = None) -> Path:
    import olefile
    from hwpx.hwp5.cfb import build_compound_file

    replace = replace or {}
    with olefile.OleFileIO(str(src)) as ole:
        streams = [("/".join(e), ole.openstream(e).read()) for e in ole.listdir()]
    kept = [(n, replace.get(n, d)) for n, d in streams if keep(n)]
    path.write_bytes(build_compound_file(kept))
    return path


def test_hwp_without_body_text_falls_back_to_the_preview(tmp_path: Path) -> None:
    src = fx.korean_hwp(tmp_path / "ok.hwp")
    preview = f"<{SENTENCES[0]}>\r\n<{SENTENCES[1][:20]}".encode("utf-16-le")  # PrvText is cut short
    path = _rebuild_hwp(
        src, tmp_path / "preview.hwp", lambda n: not n.startswith("BodyText/"), {"PrvText": preview}
    )
    doc = load_document(path, LIMITS)
    assert "PrvText" in doc.metadata["text_source"]
    assert "대한민국은 민주공화국이다." in " ".join(b.text for b in doc.blocks)


def test_ole_file_that_is_not_an_hwp(tmp_path: Path) -> None:
    src = fx.korean_hwp(tmp_path / "ok.hwp")
    fails(
        _rebuild_hwp(src, tmp_path / "nohdr.hwp", lambda n: n != "FileHeader"), CorruptFileError, "FileHeader"
    )
