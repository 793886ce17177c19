"""Extending an existing tiktoken-style vocabulary with Korean tokens (what teams that adapt a base
model to Korean do before continued pre-training: keep every original id, append new ones).

The new tokens come from a byte-level BPE trained by :mod:`hanstack.tokenizers.train`: its merges,
in training order, whose result the base vocabulary lacks are appended with ranks after every
original token, so the original ids and merges are untouched and each new token is formed from
two tokens that already exist. The result is a standard ``.tiktoken`` rank file (loadable with
:func:`hanstack.tokenizers.load_file`, or by tiktoken with the base encoding's pattern).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from pathlib import Path

from hanstack.errors import InvalidInputError, TokenizerError
from hanstack.tokenizers.files import TiktokenTokenizer, load_bundled_tiktoken, piece_to_bytes


@dataclass(frozen=True)
class ExtendResult:
    path: Path
    base: str
    base_size: int
    added: int
    vocab_size: int


def _merges(tokenizer_json: Path) -> list[tuple[bytes, bytes]]:
    try:
        spec = json.loads(tokenizer_json.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise TokenizerError(f"{tokenizer_json}: not a readable tokenizer.json ({exc})") from exc
    model = spec.get("model") or {}
    if model.get("type") != "BPE":
        raise InvalidInputError(
            f"{tokenizer_json} is a {model.get('type')} tokenizer; extending needs byte-level BPE merges",
            hint="train one with: hanstack tokens train --model bpe",
        )
    pairs: list[tuple[bytes, bytes]] = []
    for merge in model.get("merges", []):
        left, right = merge if isinstance(merge, list) else merge.split(" ", 1)
        pairs.append((piece_to_bytes(left, byte_level=True), piece_to_bytes(right, byte_level=True)))
    return pairs


def extend_tiktoken(base: str, tokenizer_json: Path, output: Path, *, add: int) -> ExtendResult:
    """Append up to ``add`` new tokens from ``tokenizer_json``'s merges to ``base`` (``o200k_base``
    or ``cl100k_base``) and write ``output`` as a ``.tiktoken`` file."""
    if add <= 0:
        raise InvalidInputError(f"--add must be positive, not {add}")
    tok = load_bundled_tiktoken(base)
    assert isinstance(tok, TiktokenTokenizer)
    ranks: dict[bytes, int] = dict(tok._enc._mergeable_ranks)
    base_size = len(ranks)
    added = 0
    for left, right in _merges(tokenizer_json):
        if added >= add:
            break
        merged = left + right
        if merged in ranks or left not in ranks or right not in ranks:
            continue
        ranks[merged] = len(ranks)
        added += 1
    if output.suffix != ".tiktoken":
        output = output.with_suffix(".tiktoken")
    lines = [
        f"{base64.b64encode(token).decode()} {rank}"
        for token, rank in sorted(ranks.items(), key=lambda kv: kv[1])
    ]
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text("\n".join(lines) + "\n", encoding="ascii")
    except OSError as exc:
        raise TokenizerError(f"cannot write {output}: {exc.strerror}") from exc
    return ExtendResult(path=output, base=base, base_size=base_size, added=added, vocab_size=len(ranks))
