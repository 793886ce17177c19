"""Korean sentence splitting.

Kiwi's splitter uses morphology (a final ending such as -다/-요/-까 closes a sentence), so it works
on chat text and OCR output that lack punctuation. ``split_sentences`` returns character spans into
the input, which is what provenance needs.
"""

from __future__ import annotations

from hanstack.korean.analyzer import KiwiAnalyzer, Sentence, get_kiwi


def split_sentences(text: str, *, analyzer: KiwiAnalyzer | None = None) -> list[Sentence]:
    """Sentences of ``text`` with exact spans (``text[s.start:s.end] == s.text``)."""
    kiwi = analyzer or get_kiwi()
    return kiwi.split_sentences(text)
