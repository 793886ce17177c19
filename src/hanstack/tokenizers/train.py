"""Training Korean-efficient tokenizers with Hugging Face ``tokenizers``, saved as ``tokenizer.json``.

Every trained tokenizer is *byte-level* (no unknown tokens, exact round trip) and NFC-normalises its
input (decomposed Hangul costs nothing extra). Choices:

* ``model``: ``bpe`` (byte-level BPE, as GPT/Llama/Qwen) or ``unigram`` (SentencePiece's unigram LM
  over the same byte alphabet);
* ``split``: how text is cut before the model sees it. ``gpt2`` is GPT-2's regex (letters, digits
  and punctuation apart, a leading space kept with the word); ``whitespace`` cuts only before
  spaces, so a token may hold an eojeol with its punctuation (``했다.``);
* ``morpheme_aware``: during training only, Kiwi's morpheme boundaries inside each eojeol are
  boundaries too, so no merge spans a stem and its particle/ending (``국민`` + ``의``). The saved
  tokenizer uses the plain ``split`` at inference (a ``tokenizer.json`` cannot call Kiwi); since
  no cross-morpheme merge was learned, its tokens still follow morpheme boundaries, and the text
  still round-trips exactly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from hanstack.errors import InvalidInputError, MissingDependencyError, TokenizerError

log = logging.getLogger(__name__)

Model = Literal["bpe", "unigram"]
Split = Literal["gpt2", "whitespace"]
SPECIAL_TOKENS = ("<|endoftext|>", "<|pad|>")
# between morphemes of one eojeol while training (a private-use character, removed by the splitter)
_MORPH_MARK = "\ue000"
# GPT-2's pre-tokenisation pattern (what ByteLevel(use_regex=True) applies)
GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
# cut before each space: a piece is " " + a run of non-space characters (or a run of spaces)
WHITESPACE_PATTERN = r""" ?[^\s]+|\s+(?!\S)|\s+"""


@dataclass(frozen=True)
class TrainConfig:
    vocab_size: int = 32_000
    model: Model = "bpe"
    split: Split = "gpt2"
    morpheme_aware: bool = False
    min_frequency: int = 2
    max_piece_length: int = 16
    special_tokens: tuple[str, ...] = SPECIAL_TOKENS

    def __post_init__(self) -> None:
        if not 300 <= self.vocab_size <= 1_000_000:
            raise InvalidInputError(
                f"vocab size {self.vocab_size} is out of range",
                hint="choose between 300 (bytes + a few merges) and 1,000,000",
            )
        if self.model not in ("bpe", "unigram"):
            raise InvalidInputError(f"unknown model {self.model!r}", hint="use bpe or unigram")
        if self.split not in ("gpt2", "whitespace"):
            raise InvalidInputError(f"unknown split {self.split!r}", hint="use gpt2 or whitespace")


@dataclass
class TrainResult:
    path: Path
    config: TrainConfig
    items: int
    chars: int
    vocab_size: int
    seconds: float
    morpheme_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def _hf() -> Any:
    try:
        import tokenizers
    except ImportError as exc:
        raise MissingDependencyError("tokenizers", "tokenizers", "Training a tokenizer") from exc
    return tokenizers


def _pattern(split: Split) -> str:
    return GPT2_PATTERN if split == "gpt2" else WHITESPACE_PATTERN


def _pre_tokenizer(split: Split, *, with_morph_mark: bool) -> Any:
    tk = _hf()
    pre = tk.pre_tokenizers
    steps = []
    if with_morph_mark:
        steps.append(pre.Split(_MORPH_MARK, behavior="removed"))
    steps.append(pre.Split(tk.Regex(_pattern(split)), behavior="isolated"))
    steps.append(pre.ByteLevel(add_prefix_space=False, use_regex=False))
    return pre.Sequence(steps)


def build_empty(config: TrainConfig, *, training: bool = False) -> Any:
    """An untrained tokenizer with the normaliser, pre-tokenizer and decoder of ``config``."""
    tk = _hf()
    model = tk.models.BPE() if config.model == "bpe" else tk.models.Unigram()
    tok = tk.Tokenizer(model)
    tok.normalizer = tk.normalizers.NFC()
    tok.pre_tokenizer = _pre_tokenizer(config.split, with_morph_mark=training and config.morpheme_aware)
    tok.decoder = tk.decoders.ByteLevel()
    return tok


def _trainer(config: TrainConfig) -> Any:
    tk = _hf()
    alphabet = tk.pre_tokenizers.ByteLevel.alphabet()
    if config.model == "bpe":
        return tk.trainers.BpeTrainer(
            vocab_size=config.vocab_size,
            min_frequency=config.min_frequency,
            show_progress=False,
            special_tokens=list(config.special_tokens),
            initial_alphabet=alphabet,
            max_token_length=config.max_piece_length * 3,
        )
    return tk.trainers.UnigramTrainer(
        vocab_size=config.vocab_size,
        show_progress=False,
        special_tokens=list(config.special_tokens),
        initial_alphabet=alphabet,
        max_piece_length=config.max_piece_length * 3,
        unk_token=None,
    )


def mark_morphemes(texts: Sequence[str], *, batch: int = 4096) -> list[str]:
    """``texts`` with :data:`_MORPH_MARK` between Kiwi morphemes that touch inside one eojeol.

    Only characters are inserted (never changed), so removing the marks gives the text back. Each
    distinct text is analysed once (training corpora repeat text to weight it).
    """
    from hanstack.korean.analyzer import get_kiwi

    kiwi = get_kiwi().kiwi
    unique = list(dict.fromkeys(texts))
    marked: dict[str, str] = {}
    for start in range(0, len(unique), batch):
        chunk = unique[start : start + batch]
        for text, tokens in zip(chunk, kiwi.tokenize(chunk), strict=True):
            marked[text] = _insert_marks(text, sorted({t.start for t in tokens}))
    return [marked[t] for t in texts]


def _insert_marks(text: str, starts: Sequence[int]) -> str:
    cuts = [c for c in starts if 0 < c < len(text) and not text[c - 1].isspace() and not text[c].isspace()]
    if not cuts:
        return text
    parts, last = [], 0
    for cut in cuts:
        parts.append(text[last:cut])
        last = cut
    parts.append(text[last:])
    return _MORPH_MARK.join(parts)


def train_tokenizer(
    texts: Sequence[str],
    output: Path,
    config: TrainConfig,
) -> TrainResult:
    """Train on ``texts`` and save a standard ``tokenizer.json`` at ``output``."""
    if not texts:
        raise InvalidInputError("the training corpus is empty")
    start = time.perf_counter()
    tok = build_empty(config, training=True)
    morph_s = 0.0
    data: Iterable[str] = texts
    if config.morpheme_aware:
        t0 = time.perf_counter()
        data = mark_morphemes(texts)
        morph_s = time.perf_counter() - t0
    try:
        tok.train_from_iterator(data, trainer=_trainer(config), length=len(texts))
    except Exception as exc:  # the Rust trainer raises plain Exception
        raise TokenizerError(f"training failed: {exc}") from exc
    # inference: the same pipeline without the training-only morpheme splitter
    tok.pre_tokenizer = _pre_tokenizer(config.split, with_morph_mark=False)
    if output.suffix != ".json":
        output = output / "tokenizer.json"
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        tok.save(str(output))
    except OSError as exc:
        raise TokenizerError(f"cannot write {output}: {exc.strerror}") from exc
    return TrainResult(
        path=output,
        config=config,
        items=len(texts),
        chars=sum(len(t) for t in texts),
        vocab_size=int(tok.get_vocab_size(with_added_tokens=True)),
        seconds=time.perf_counter() - start,
        morpheme_seconds=morph_s,
    )
