"""Document loaders: one module per format behind one registry.

``load_document(path, limits)`` picks the loader by the file's suffix (``LOADERS``), checks the
size limit, and returns a :class:`~hanstack.ingest.models.LoadedDocument` of structural blocks.
Every failure is an :class:`~hanstack.errors.IngestError` naming the file and what broke:
unsupported suffix, too large, corrupt, encrypted or a zip bomb. Nothing a damaged file can do
should surface as a raw traceback from a parsing library.
"""

from __future__ import annotations

import logging
import struct
import xml.etree.ElementTree as ET
import zlib
from pathlib import Path

from hanstack.errors import CorruptFileError, HanstackError, IngestError, UnsupportedFormatError
from hanstack.ingest.loaders.base import Loader, LoaderOptions
from hanstack.ingest.loaders.docx import load_docx
from hanstack.ingest.loaders.html import load_html
from hanstack.ingest.loaders.hwp import load_hwp
from hanstack.ingest.loaders.hwpx import load_hwpx
from hanstack.ingest.loaders.jsonl import TEXT_FIELDS, iter_jsonl_records, load_jsonl
from hanstack.ingest.loaders.limits import LoaderLimits, check_file_size
from hanstack.ingest.loaders.pdf import load_pdf
from hanstack.ingest.loaders.text import load_markdown, load_text
from hanstack.ingest.models import LoadedDocument

__all__ = [
    "LOADERS",
    "TEXT_FIELDS",
    "LoaderLimits",
    "LoaderOptions",
    "iter_jsonl_records",
    "load_document",
    "supported_suffixes",
]

log = logging.getLogger(__name__)

LOADERS: dict[str, Loader] = {
    ".txt": load_text,
    ".text": load_text,
    ".md": load_markdown,
    ".markdown": load_markdown,
    ".html": load_html,
    ".htm": load_html,
    ".pdf": load_pdf,
    ".docx": load_docx,
    ".hwpx": load_hwpx,
    ".hwp": load_hwp,
    ".jsonl": load_jsonl,
}

# What a parsing library may raise on input it cannot make sense of; anything else is a bug.
_PARSE_FAILURES = (
    ValueError,
    KeyError,
    IndexError,
    TypeError,
    struct.error,
    zlib.error,
    EOFError,
    UnicodeError,
    ET.ParseError,
    RecursionError,
)


def supported_suffixes() -> tuple[str, ...]:
    """Lower-case suffixes with their dot (``.pdf``), sorted."""
    return tuple(sorted(LOADERS))


def load_document(path: Path, limits: LoaderLimits, *, text_field: str | None = None) -> LoadedDocument:
    """Load one file into structural blocks.

    ``text_field`` is for record formats (JSONL): the field holding the text.
    """
    path = Path(path)
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise UnsupportedFormatError(
            f"{path}: unsupported file type {path.suffix or '(no suffix)'!r}",
            hint=f"supported: {', '.join(supported_suffixes())}",
        )
    try:
        check_file_size(path, limits)
        return loader(path, limits, LoaderOptions(text_field=text_field))
    except HanstackError:
        raise
    except OSError as exc:
        raise IngestError(f"{path}: cannot read the file ({exc.strerror or exc})") from exc
    except _PARSE_FAILURES as exc:
        log.debug("loader failed", exc_info=True, extra={"source": str(path)})
        raise CorruptFileError(
            f"{path}: could not be parsed as {path.suffix.lower().lstrip('.').upper()} "
            f"({type(exc).__name__}: {exc})",
            hint="the file is damaged or not what its extension says",
        ) from exc
