"""Named presets of real model tokenizers, and loading of user-supplied vocabulary files.

``get_tokenizer("qwen-2.5")`` is what the rest of hanstack calls: it loads a preset (or a file) once
per process and returns the same object afterwards. Every preset states its source and vocabulary
size; nothing needs the network except the llama.cpp ``ggml-vocab-*.gguf`` presets, which are
fetched once into a local vocabulary cache (see :mod:`hanstack.tokenizers.vocab_cache`).

Loaders are looked up by *kind* in :data:`LOADERS` (module and factory, imported on first use so
that importing this package stays cheap); adding a vocabulary kind is one entry there.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hanstack.errors import NotFoundError, TokenizerError
from hanstack.tokenizers.base import Tokenizer


@dataclass(frozen=True)
class Preset:
    """A named tokenizer: which vocabulary, from where, and how big it is."""

    name: str
    kind: str
    """Key in :data:`LOADERS`."""
    arg: str
    """What the loader loads: an encoding name, a bundled file name."""
    vocab_size: int
    models: str
    """Models that use this vocabulary, in words."""
    source: str
    """Where the vocabulary comes from here, in words."""
    fast: bool = False
    """In the default set of ``tokens stats``: loads in about a second with no download, and is the
    only preset of its vocabulary in that set."""
    aliases: tuple[str, ...] = ()
    notes: str = ""
    options: dict[str, str] = field(default_factory=dict)


PRESETS: tuple[Preset, ...] = (
    Preset(
        "gpt-4o",
        "quicktok",
        "o200k_base",
        200_019,
        "GPT-4o, GPT-4.1, o-series, GPT-5 (OpenAI o200k_base)",
        "quicktok wheel (counts identical to tiktoken o200k_base)",
        fast=True,
        aliases=("o200k", "o200k_base"),
    ),
    Preset(
        "gpt-4",
        "quicktok",
        "cl100k_base",
        100_277,
        "GPT-4, GPT-3.5-turbo, text-embedding-3 (OpenAI cl100k_base)",
        "quicktok wheel (counts identical to tiktoken cl100k_base)",
        fast=True,
        aliases=("cl100k", "cl100k_base"),
    ),
    Preset(
        "gpt-4o-tiktoken",
        "tiktoken-bundled",
        "o200k_base",
        200_019,
        "GPT-4o (o200k_base through the tiktoken library itself: the reference implementation)",
        "bpe-openai wheel data o200k_base.tiktoken.gz + tiktoken_ext.openai_public pattern/specials",
        aliases=("tiktoken-o200k",),
    ),
    Preset(
        "gpt-4-tiktoken",
        "tiktoken-bundled",
        "cl100k_base",
        100_277,
        "GPT-4 (cl100k_base through the tiktoken library itself: the reference implementation)",
        "bpe-openai wheel data cl100k_base.tiktoken.gz + tiktoken_ext.openai_public pattern/specials",
        aliases=("tiktoken-cl100k",),
    ),
    Preset(
        "llama-3",
        "quicktok",
        "llama3",
        128_256,
        "Llama 3 / 3.1 / 3.2 / 3.3 (tiktoken-style BPE, 128k)",
        "quicktok wheel (counts identical to llama.cpp's llama-bpe vocab)",
        fast=True,
        aliases=("llama3",),
    ),
    Preset(
        "qwen-2.5",
        "quicktok",
        "qwen3",
        151_665,
        "Qwen2 / Qwen2.5 (151,643 byte-level BPE tokens + 22 special tokens)",
        "quicktok wheel 'qwen3' vocabulary (same BPE; Qwen3 only adds 4 special tokens)",
        fast=True,
        aliases=("qwen2.5", "qwen2", "qwen-2"),
        options={"vocab_size": "151665"},
    ),
    Preset(
        "qwen-3",
        "quicktok",
        "qwen3",
        151_669,
        "Qwen3 (Qwen2.5's BPE + <think>/</think> and tool special tokens)",
        "quicktok wheel 'qwen3' vocabulary",
        fast=False,  # same BPE as qwen-2.5 for text: not in the default set
        aliases=("qwen3",),
    ),
    Preset(
        "qwen-3.5",
        "toktok",
        "qwen3.5",
        248_077,
        "Qwen3.5 (248k vocabulary, NFC-normalised input)",
        "toktok-rs wheel (vocabulary compiled into the extension)",
        fast=True,
        aliases=("qwen3.5",),
    ),
    Preset(
        "gemma-3",
        "ggml-vocab",
        "gemma-4",
        262_144,
        "Gemma 3 / Gemma 4 (SentencePiece-style BPE, 262k, byte fallback)",
        "llama.cpp ggml-vocab-gemma-4.gguf from the llama-cpp-python sdist (vocab cache)",
        aliases=("gemma3", "gemma-4"),
        notes="Gemma 3 and 4 share this 262,144-token vocabulary.",
    ),
    Preset(
        "mistral-nemo",
        "mistral-tekken",
        "tekken_240718.json",
        131_072,
        "Mistral NeMo, Ministral (tekken, tiktoken-style BPE, 131k)",
        "mistral-common wheel data tekken_240718.json",
        aliases=("tekken",),
    ),
    Preset(
        "mistral-small-3",
        "mistral-tekken",
        "tekken_240911.json",
        131_072,
        "Mistral Small 3 / Pixtral (tekken v7, 131k)",
        "mistral-common wheel data tekken_240911.json",
    ),
    Preset(
        "mistral-v3",
        "mistral-spm",
        "mistral_instruct_tokenizer_240323.model.v3",
        32_768,
        "Mistral 7B v0.3, Mixtral 8x22B (SentencePiece, 32,768, byte fallback)",
        "mistral-common wheel data mistral_instruct_tokenizer_240323.model.v3",
        aliases=("mistral-spm",),
    ),
    Preset(
        "deepseek-v1",
        "ggml-vocab",
        "deepseek-llm",
        102_400,
        "DeepSeek LLM 7B/67B (v1, byte-level BPE, 100k)",
        "llama.cpp ggml-vocab-deepseek-llm.gguf from the llama-cpp-python sdist (vocab cache)",
        aliases=("deepseek-llm",),
    ),
    Preset(
        "command-r",
        "ggml-vocab",
        "command-r",
        256_000,
        "Cohere Command-R / R+ / Aya (byte-level BPE, 256k)",
        "llama.cpp ggml-vocab-command-r.gguf from the llama-cpp-python sdist (vocab cache)",
    ),
    Preset(
        "xlm-r",
        "ggml-vocab",
        "nomic-bert-moe",
        250_048,
        "XLM-RoBERTa family: bge-m3, multilingual-e5, nomic-embed-text-v2 (SentencePiece unigram, 250k)",
        "llama.cpp ggml-vocab-nomic-bert-moe.gguf (XLM-R vocabulary) from the llama-cpp-python sdist",
        aliases=("xlm-roberta", "bge-m3", "multilingual-e5"),
        notes="XLM-R's 250,002 pieces; this GGUF pads the table with [PAD] ids to 250,048.",
    ),
    Preset(
        "utf8-bytes",
        "bytes",
        "",
        256,
        "ByT5-style byte models; the no-vocabulary baseline (one token per UTF-8 byte)",
        "built-in",
        fast=False,
        aliases=("bytes",),
    ),
)

# kind -> "module:factory"; the factory takes the preset's ``arg`` and keyword ``name`` (+ options)
LOADERS: dict[str, str] = {
    "quicktok": "hanstack.tokenizers.fast:QuicktokTokenizer",
    "toktok": "hanstack.tokenizers.fast:ToktokTokenizer",
    "bytes": "hanstack.tokenizers.fast:Utf8ByteTokenizer",
    "tiktoken-bundled": "hanstack.tokenizers.files:load_bundled_tiktoken",
    "mistral-tekken": "hanstack.tokenizers.files:load_mistral_bundled",
    "mistral-spm": "hanstack.tokenizers.files:load_mistral_bundled",
    "ggml-vocab": "hanstack.tokenizers.files:load_ggml_vocab",
}

# file suffix -> "module:factory" for user-supplied vocabularies
FILE_LOADERS: dict[str, str] = {
    ".json": "hanstack.tokenizers.files:load_json_file",
    ".model": "hanstack.tokenizers.files:load_sentencepiece_file",
    ".gguf": "hanstack.tokenizers.files:load_gguf_file",
    ".tiktoken": "hanstack.tokenizers.files:load_tiktoken_file",
    ".gz": "hanstack.tokenizers.files:load_tiktoken_file",
}

_BY_NAME: dict[str, Preset] = {}
for _p in PRESETS:
    for _key in (_p.name, *_p.aliases):
        _BY_NAME[_key.lower()] = _p

FAST_PRESETS: tuple[str, ...] = tuple(p.name for p in PRESETS if p.fast)


def list_presets() -> list[Preset]:
    return list(PRESETS)


def get_preset(name: str) -> Preset:
    try:
        return _BY_NAME[name.strip().lower()]
    except KeyError:
        raise NotFoundError(
            f"unknown tokenizer {name!r}",
            hint=f"choose a preset ({', '.join(p.name for p in PRESETS)}) or give a vocabulary file "
            "(tokenizer.json, .model, .gguf, .tiktoken)",
        ) from None


def _resolve(target: str) -> Callable[..., Tokenizer]:
    module, _, attr = target.partition(":")
    factory: Callable[..., Tokenizer] = getattr(importlib.import_module(module), attr)
    return factory


def load_preset(preset: Preset) -> Tokenizer:
    """Build a preset's tokenizer (uncached; use :func:`get_tokenizer`)."""
    options: dict[str, object] = dict(preset.options)
    if "vocab_size" in options:
        options["vocab_size"] = int(str(options["vocab_size"]))
    return _resolve(LOADERS[preset.kind])(preset.arg, name=preset.name, **options)


def load_file(path: Path) -> Tokenizer:
    """Load a user-supplied vocabulary: HF ``tokenizer.json`` (or Mistral ``tekken.json``),
    SentencePiece ``.model``, any ``.gguf`` (vocabulary only), tiktoken ``.tiktoken[.gz]``."""
    if not path.is_file():
        raise NotFoundError(f"tokenizer file {path} does not exist")
    suffix = path.suffix.lower()
    target = FILE_LOADERS.get(suffix)
    if target is None:
        raise TokenizerError(
            f"cannot tell what kind of vocabulary {path.name} is",
            hint=f"supported: {', '.join(sorted(FILE_LOADERS))} (tokenizer.json, sentencepiece .model, "
            "GGUF, tiktoken)",
        )
    return _resolve(target)(path)


_CACHE: dict[tuple[str, float], Tokenizer] = {}
_LOCK = threading.Lock()


def get_tokenizer(name: str) -> Tokenizer:
    """The tokenizer for a preset name, an alias, or a vocabulary file path; one object per process.

    >>> tok = get_tokenizer("qwen-2.5")
    >>> tok.count("대한민국 헌법")
    """
    preset = _BY_NAME.get(name.strip().lower())
    path = Path(name).expanduser()
    if preset is not None:
        key = (preset.name, 0.0)
    elif path.is_file():
        key = (str(path.resolve()), path.stat().st_mtime)
    elif path.suffix.lower() in FILE_LOADERS or "/" in name:
        raise NotFoundError(f"tokenizer file {path} does not exist")
    else:
        preset = get_preset(name)  # raises the unknown-name error with the list of presets
        key = (preset.name, 0.0)
    tok = _CACHE.get(key)
    if tok is not None:
        return tok
    with _LOCK:
        tok = _CACHE.get(key)
        if tok is None:
            tok = load_preset(preset) if preset is not None else load_file(path)
            _CACHE[key] = tok
    return tok


def clear_cache() -> None:
    """Forget loaded tokenizers (tests)."""
    with _LOCK:
        _CACHE.clear()
