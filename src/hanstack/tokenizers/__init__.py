"""Real model tokenizers behind one protocol, corpus statistics, and tokenizer training.

    from hanstack.tokenizers import get_tokenizer
    tok = get_tokenizer("qwen-2.5")      # a preset, an alias, or a vocabulary file path
    tok.count("대한민국 헌법")             # -> int; tok.encode / tok.decode / tok.name / tok.vocab_size / tok.source

``get_tokenizer`` caches one object per process and never needs the network for the fast presets
(``hanstack tokens list`` shows all presets with their source and vocabulary size).
"""

from hanstack.tokenizers.base import BaseTokenizer, Tokenizer
from hanstack.tokenizers.registry import (
    FAST_PRESETS,
    PRESETS,
    Preset,
    get_preset,
    get_tokenizer,
    list_presets,
    load_file,
)

__all__ = [
    "FAST_PRESETS",
    "PRESETS",
    "BaseTokenizer",
    "Preset",
    "Tokenizer",
    "get_preset",
    "get_tokenizer",
    "list_presets",
    "load_file",
]
