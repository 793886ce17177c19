"""Tokenizers loaded from vocabulary files: tiktoken, Hugging Face ``tokenizer.json``, SentencePiece
``.model``, GGUF (llama.cpp, vocabulary only) and Mistral's tekken/SPM files.

Each backend wraps the library made for that format, so counts are the model's own. Library errors
become :class:`~hanstack.errors.TokenizerError` naming the file.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import ctypes
import gzip
import hashlib
import io
import json
import os
import re
import tempfile
import threading
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from hanstack.errors import MissingDependencyError, TokenizerError
from hanstack.tokenizers.base import BaseTokenizer, Tokenizer

# ---------------------------------------------------------------------------------------------
# tiktoken


_OPENAI_URLS = {
    "o200k_base": "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken",
    "cl100k_base": "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken",
}
_TIKTOKEN_LOCK = threading.Lock()


def _import_tiktoken(purpose: str) -> Any:
    try:
        import tiktoken
    except ImportError as exc:
        raise MissingDependencyError("tiktoken", "tokenizers", purpose) from exc
    return tiktoken


class TiktokenTokenizer(BaseTokenizer):
    """A ``tiktoken.Encoding`` (the reference implementation of OpenAI's encodings)."""

    concatenative = True

    def __init__(self, encoding: Any, *, name: str, source: str) -> None:
        self._enc = encoding
        super().__init__(name=name, vocab_size=int(encoding.n_vocab), source=source)

    def encode(self, text: str) -> list[int]:
        return list(self._enc.encode_ordinary(text))

    def decode(self, ids: Sequence[int]) -> str:
        return str(self._enc.decode(list(ids)))

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return [list(ids) for ids in self._enc.encode_ordinary_batch(list(texts))]

    def token_bytes(self, token_id: int) -> bytes:
        return bytes(self._enc.decode_single_token_bytes(int(token_id)))


def _tiktoken_cache_dir() -> str:
    """The folder tiktoken's ``read_file_cached`` reads (same precedence as tiktoken itself)."""
    for var in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
        if var in os.environ:
            return os.environ[var]
    return os.path.join(tempfile.gettempdir(), "data-gym-cache")


def load_bundled_tiktoken(encoding: str, *, name: str | None = None) -> Tokenizer:
    """o200k_base / cl100k_base through tiktoken, from the ``bpe-openai`` wheel's data.

    The gunzipped file is placed in tiktoken's cache under the key tiktoken would download it to;
    ``tiktoken.get_encoding`` then builds the encoding with the official pattern and special tokens
    from ``tiktoken_ext.openai_public`` and checks the file's official sha256, offline.
    """
    tiktoken = _import_tiktoken(f"The tiktoken {encoding} encoding")
    url = _OPENAI_URLS.get(encoding)
    if url is None:
        raise TokenizerError(
            f"no bundled tiktoken data for {encoding!r}", hint=f"known: {', '.join(_OPENAI_URLS)}"
        )
    cache_dir = _tiktoken_cache_dir()
    if cache_dir == "":
        raise TokenizerError(
            "TIKTOKEN_CACHE_DIR is empty (tiktoken caching disabled)",
            hint="unset it so the bundled vocabulary can be used offline",
        )
    with _TIKTOKEN_LOCK:
        target = Path(cache_dir) / hashlib.sha1(url.encode()).hexdigest()
        if not target.is_file():
            try:
                data = resources.files("bpe_openai").joinpath("data", f"{encoding}.tiktoken.gz").read_bytes()
            except (ImportError, ModuleNotFoundError) as exc:
                raise MissingDependencyError(
                    "bpe-openai", "tokenizers", f"The {encoding} vocabulary"
                ) from exc
            except OSError as exc:
                raise TokenizerError(f"the bpe-openai wheel has no {encoding}.tiktoken.gz: {exc}") from exc
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                part = target.with_suffix(".part")
                part.write_bytes(gzip.decompress(data))
                part.replace(target)
            except OSError as exc:
                raise TokenizerError(
                    f"cannot write tiktoken's cache {cache_dir}: {exc.strerror}",
                    hint="set TIKTOKEN_CACHE_DIR to a writable folder",
                ) from exc
        try:
            enc = tiktoken.get_encoding(encoding)
        except ValueError as exc:  # hash mismatch of the cached file
            raise TokenizerError(f"tiktoken rejected the bundled {encoding} data: {exc}") from exc
    return TiktokenTokenizer(
        enc,
        name=name or encoding,
        source=f"tiktoken {tiktoken.__version__}, bpe-openai wheel data {encoding}.tiktoken.gz",
    )


def load_tiktoken_file(path: Path, *, name: str | None = None) -> Tokenizer:
    """A ``.tiktoken`` (or ``.tiktoken.gz``) rank file. Official encodings (named by the file) get
    their official pattern and special tokens; any other file gets o200k_base's pattern."""
    tiktoken = _import_tiktoken("Loading a .tiktoken file")
    raw = path.read_bytes()
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise TokenizerError(f"{path}: not a gzip file: {exc}") from exc
    stem = path.name.split(".")[0]
    base = stem if stem in _OPENAI_URLS else "o200k_base"
    ranks = _parse_ranks(raw, path)
    # the official encoding (offline, from the bundled data) supplies the pattern and special tokens
    official = load_bundled_tiktoken(base)
    assert isinstance(official, TiktokenTokenizer)
    pat_str: str = official._enc._pat_str
    specials: dict[str, int] = dict(official._enc._special_tokens)
    if stem not in _OPENAI_URLS:
        specials = {tok: len(ranks) + i for i, tok in enumerate(sorted(specials))}
    enc = tiktoken.Encoding(name=stem, pat_str=pat_str, mergeable_ranks=ranks, special_tokens=specials)
    note = "" if stem in _OPENAI_URLS else " (o200k_base pattern)"
    return TiktokenTokenizer(enc, name=name or str(path), source=f"tiktoken file {path}{note}")


# ---------------------------------------------------------------------------------------------
# Hugging Face tokenizer.json


_BYTE_PIECE = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")


def _parse_ranks(raw: bytes, path: Path) -> dict[bytes, int]:
    """tiktoken's rank file format: one ``<base64 token> <rank>`` a line."""
    ranks: dict[bytes, int] = {}
    try:
        for line in raw.splitlines():
            if line.strip():
                token, rank = line.split()
                ranks[base64.b64decode(token, validate=True)] = int(rank)
    except (ValueError, binascii.Error) as exc:
        raise TokenizerError(
            f"{path}: not a tiktoken rank file ({exc})", hint="each line is '<base64 token> <rank>'"
        ) from exc
    if not ranks:
        raise TokenizerError(f"{path}: empty tiktoken rank file")
    return ranks


@lru_cache(maxsize=1)
def _byte_level_decoder() -> dict[str, int]:
    """GPT-2's printable-character alphabet for bytes, inverted (Ġ -> 0x20)."""
    bs = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return {chr(c): b for b, c in zip(bs, cs, strict=True)}


def piece_to_bytes(piece: str, *, byte_level: bool) -> bytes:
    """A vocabulary entry as the bytes it stands for (byte-level alphabet, ``<0xNN>``, ``▁``)."""
    match = _BYTE_PIECE.match(piece)
    if match:
        return bytes([int(match.group(1), 16)])
    if byte_level:
        table = _byte_level_decoder()
        if all(ch in table for ch in piece):
            return bytes(table[ch] for ch in piece)
    return piece.replace("\u2581", " ").encode("utf-8")


class HFTokenizer(BaseTokenizer):
    """A Hugging Face ``tokenizers.Tokenizer`` (``tokenizer.json``): EXAONE, Solar, HyperCLOVA X,
    Kanana, A.X ... or one trained by ``hanstack tokens train``."""

    def __init__(self, tokenizer: Any, *, name: str, source: str) -> None:
        self._tok = tokenizer
        # special-token strings in user text are text, as with every other backend
        if hasattr(tokenizer, "encode_special_tokens"):
            tokenizer.encode_special_tokens = True
        config = json.loads(tokenizer.to_str())
        self._byte_level = "ByteLevel" in json.dumps(
            config.get("decoder") or {}
        ) or "ByteLevel" in json.dumps(config.get("pre_tokenizer") or {})
        normalizer = json.dumps(config.get("normalizer") or {})
        self.normalizes_nfc = '"NFC"' in normalizer or '"NFKC"' in normalizer
        super().__init__(
            name=name, vocab_size=int(tokenizer.get_vocab_size(with_added_tokens=True)), source=source
        )

    @classmethod
    def from_file(cls, path: Path, *, name: str | None = None) -> HFTokenizer:
        try:
            from tokenizers import Tokenizer as HFTok
        except ImportError as exc:
            raise MissingDependencyError("tokenizers", "tokenizers", "Loading tokenizer.json") from exc
        try:
            tok = HFTok.from_file(str(path))
        except Exception as exc:  # the Rust library raises plain Exception subclasses
            raise TokenizerError(f"{path}: not a loadable Hugging Face tokenizer.json ({exc})") from exc
        return cls(tok, name=name or str(path), source=f"Hugging Face tokenizer.json {path}")

    def encode(self, text: str) -> list[int]:
        return list(self._tok.encode(text, add_special_tokens=False).ids)

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return [list(e.ids) for e in self._tok.encode_batch(list(texts), add_special_tokens=False)]

    def decode(self, ids: Sequence[int]) -> str:
        return str(self._tok.decode(list(ids), skip_special_tokens=False))

    def decode_batch(self, batch: Sequence[Sequence[int]]) -> list[str]:
        return list(self._tok.decode_batch([list(ids) for ids in batch], skip_special_tokens=False))

    def token_bytes(self, token_id: int) -> bytes:
        piece = self._tok.id_to_token(int(token_id))
        return b"" if piece is None else piece_to_bytes(piece, byte_level=self._byte_level)


# ---------------------------------------------------------------------------------------------
# SentencePiece


class SentencePieceTokenizer(BaseTokenizer):
    """A SentencePiece ``.model`` (Mistral v1/v3, Llama 2, Gemma 1/2, many Korean models)."""

    def __init__(self, path: Path, *, name: str | None = None, source: str | None = None) -> None:
        try:
            import sentencepiece as spm
        except ImportError as exc:
            raise MissingDependencyError(
                "sentencepiece", "tokenizers", "Loading a SentencePiece .model"
            ) from exc
        self._sp: Any = spm.SentencePieceProcessor()
        try:
            self._sp.Load(str(path))
        except (OSError, RuntimeError) as exc:
            raise TokenizerError(f"{path}: not a SentencePiece model ({exc})") from exc
        super().__init__(
            name=name or str(path),
            vocab_size=int(self._sp.GetPieceSize()),
            source=source or f"SentencePiece model {path}",
        )

    def encode(self, text: str) -> list[int]:
        return list(self._sp.EncodeAsIds(text))

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return [list(ids) for ids in self._sp.Encode(list(texts))]

    def decode(self, ids: Sequence[int]) -> str:
        return str(self._sp.DecodeIds(list(ids)))

    def token_bytes(self, token_id: int) -> bytes:
        return piece_to_bytes(self._sp.IdToPiece(int(token_id)), byte_level=False)


def load_sentencepiece_file(path: Path, *, name: str | None = None) -> Tokenizer:
    return SentencePieceTokenizer(path, name=name)


# ---------------------------------------------------------------------------------------------
# Mistral tekken


class TekkenTokenizer(BaseTokenizer):
    """Mistral's tekken (tiktoken-style BPE in a JSON file) through ``mistral-common``."""

    concatenative = True

    def __init__(self, path: Path, *, name: str | None = None, source: str | None = None) -> None:
        try:
            from mistral_common.tokens.tokenizers.tekken import Tekkenizer
        except ImportError as exc:
            raise MissingDependencyError(
                "mistral-common", "tokenizers", "Mistral's tekken tokenizer"
            ) from exc
        try:
            self._tk: Any = Tekkenizer.from_file(str(path))
        except (OSError, ValueError, KeyError) as exc:
            raise TokenizerError(f"{path}: not a tekken vocabulary ({exc})") from exc
        super().__init__(
            name=name or str(path),
            vocab_size=int(self._tk.n_words),
            source=source or f"Mistral tekken file {path}",
        )

    def encode(self, text: str) -> list[int]:
        return list(self._tk.encode(text, bos=False, eos=False))

    def decode(self, ids: Sequence[int]) -> str:
        return str(self._tk.decode(list(ids)))

    def token_bytes(self, token_id: int) -> bytes:
        return bytes(self._tk.id_to_byte_piece(int(token_id)))


def _mistral_data(file_name: str) -> Path:
    try:
        root = resources.files("mistral_common").joinpath("data", file_name)
    except ModuleNotFoundError as exc:
        raise MissingDependencyError("mistral-common", "tokenizers", "Mistral's tokenizers") from exc
    path = Path(str(root))
    if not path.is_file():
        raise TokenizerError(
            f"this mistral-common has no data file {file_name}",
            hint="pip install -U 'mistral-common[sentencepiece]'",
        )
    return path


def load_mistral_bundled(file_name: str, *, name: str | None = None) -> Tokenizer:
    path = _mistral_data(file_name)
    source = f"mistral-common wheel data {file_name}"
    if file_name.endswith(".json"):
        return TekkenTokenizer(path, name=name, source=source)
    return SentencePieceTokenizer(path, name=name, source=source)


def load_json_file(path: Path, *, name: str | None = None) -> Tokenizer:
    """``tokenizer.json`` (Hugging Face) or ``tekken.json`` (Mistral): told apart by their header."""
    with path.open("rb") as fh:
        head = fh.read(4096)
    if b'"num_vocab_tokens"' in head or (b'"config"' in head and b'"pattern"' in head):
        return TekkenTokenizer(path, name=name)
    return HFTokenizer.from_file(path, name=name)


# ---------------------------------------------------------------------------------------------
# GGUF (llama.cpp)


class GGUFTokenizer(BaseTokenizer):
    """The vocabulary of any GGUF file through llama.cpp (``Llama(path, vocab_only=True)``).

    SentencePiece-style vocabularies add a leading space on encode that decode does not restore,
    so they do not round-trip exactly; the statistics report that rather than hide it.
    """

    def __init__(self, path: Path, *, name: str | None = None, source: str | None = None) -> None:
        try:
            import llama_cpp
        except ImportError as exc:
            raise MissingDependencyError("llama-cpp-python", "llm", "Loading a GGUF vocabulary") from exc
        log = io.StringIO()
        try:
            # llama.cpp's log callback prints context warnings that mean nothing for a vocabulary
            with contextlib.redirect_stderr(log):
                self._llm: Any = llama_cpp.Llama(str(path), vocab_only=True, verbose=False)
        except (ValueError, RuntimeError, OSError) as exc:
            detail = log.getvalue().strip().splitlines()[-1:] or [""]
            raise TokenizerError(
                f"{path}: llama.cpp cannot load this GGUF vocabulary ({exc}) {detail[0]}".rstrip()
            ) from exc
        self._llama_cpp = llama_cpp
        self._vocab = self._llm._model.vocab
        self._pieces: dict[int, bytes] = {}
        super().__init__(
            name=name or str(path),
            vocab_size=int(self._llm.n_vocab()),
            source=source or f"GGUF file {path} (llama.cpp vocab_only)",
        )

    def encode(self, text: str) -> list[int]:
        if not text:
            return []
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def decode(self, ids: Sequence[int]) -> str:
        return b"".join(self.token_bytes(i) for i in ids).decode("utf-8", errors="replace")

    def token_bytes(self, token_id: int) -> bytes:
        piece = self._pieces.get(token_id)
        if piece is None:
            piece = self._pieces[token_id] = self._piece(int(token_id))
        return piece

    def _piece(self, token_id: int) -> bytes:
        # llama.cpp's own Python helpers use a 32-byte buffer; long pieces (runs of spaces) need more
        size = 64
        while True:
            buf = ctypes.create_string_buffer(size)
            n = self._llama_cpp.llama_token_to_piece(self._vocab, token_id, buf, size, 0, False)
            if n >= 0:
                return buf.raw[:n]
            size = -n


def load_gguf_file(path: Path, *, name: str | None = None) -> Tokenizer:
    return GGUFTokenizer(path, name=name)


def load_ggml_vocab(vocab: str, *, name: str | None = None) -> Tokenizer:
    """A ``ggml-vocab-<vocab>.gguf`` from llama.cpp's test vocabularies (via the vocab cache)."""
    from hanstack.tokenizers.vocab_cache import ggml_vocab_path

    path = ggml_vocab_path(vocab)
    return GGUFTokenizer(
        path, name=name, source=f"llama.cpp ggml-vocab-{vocab}.gguf (llama-cpp-python sdist), {path}"
    )
