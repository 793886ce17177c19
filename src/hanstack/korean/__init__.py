"""Pure Korean text logic: normalisation, legacy decoding, sentences, morphemes, search terms."""

from hanstack.korean.normalize import decode_bytes, normalize_text

__all__ = ["decode_bytes", "normalize_text"]
