"""PDF text layers with pypdf; every block carries its 1-based page number.

A PDF encrypted with an empty user password (common for "print-protected" files) is decrypted and
read; any other password fails with :class:`EncryptedFileError`. A PDF whose pages have no text
at all is a scan and fails with a message saying it needs OCR first.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from hanstack.errors import CorruptFileError, EncryptedFileError, IngestError
from hanstack.ingest.loaders.base import LoaderOptions, clean_title, need, paragraph_blocks, split_paragraphs
from hanstack.ingest.loaders.limits import LoaderLimits
from hanstack.ingest.models import Block, LoadedDocument

log = logging.getLogger(__name__)


def load_pdf(path: Path, limits: LoaderLimits, options: LoaderOptions) -> LoadedDocument:
    try:
        import pypdf
        from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError, PyPdfError
    except ImportError as exc:
        raise need("pypdf", "Reading PDF files") from exc

    with path.open("rb") as fh:
        head = fh.read(1024)
    if b"%PDF-" not in head:
        raise CorruptFileError(f"{path}: is not a PDF (no %PDF- header)", hint="check the file's real type")
    try:
        reader = pypdf.PdfReader(path, strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise EncryptedFileError(
                f"{path}: the PDF is password-protected",
                hint="save an unprotected copy (or remove the password) and ingest that",
            )
        title = _title(reader)
        blocks: list[Block] = []
        empty_pages: list[int] = []
        page_count = len(reader.pages)
        for number, page in enumerate(reader.pages, start=1):
            text = page.extract_text() or ""
            page_blocks = paragraph_blocks(split_paragraphs(text), page=number)
            if not page_blocks:
                empty_pages.append(number)
            blocks.extend(page_blocks)
    except (FileNotDecryptedError, DependencyError) as exc:
        # pypdf needs the 'cryptography' package for AES; without it an AES file cannot be opened.
        raise EncryptedFileError(
            f"{path}: the PDF is encrypted and cannot be decrypted here ({exc})",
            hint="save an unprotected copy and ingest that",
        ) from exc
    except (PdfReadError, PyPdfError) as exc:
        raise CorruptFileError(
            f"{path}: the PDF is damaged or truncated ({exc})", hint="re-export or re-download the file"
        ) from exc
    if page_count and not blocks:
        raise IngestError(
            f"{path}: none of its {page_count} page(s) has a text layer (a scanned PDF?); it needs OCR",
            hint="run OCR first, e.g. `ocrmypdf -l kor in.pdf out.pdf`, and ingest the result",
        )
    metadata: dict[str, object] = {"format": "pdf", "pages": page_count}
    if empty_pages:
        metadata["pages_without_text"] = empty_pages
    return LoadedDocument(blocks=blocks, title=title, metadata=metadata)


def _title(reader: Any) -> str | None:
    from pypdf.errors import PyPdfError

    try:
        meta = reader.metadata
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.debug("unreadable PDF metadata: %s", exc)  # a damaged Info dictionary costs only the title
        return None
    return clean_title(meta.title) if meta is not None else None
