"""A person-word lexicon mined from *unlabelled* Korean text, a feature for the name CRF.

    python -m hanstack.guard.pii.name_lexicon [--shared ../shared/data] [--out PATH]

Why: most person names the CRF misses are names it has never seen (actors, athletes, characters)
with no title next to them. Unlabelled movie reviews (NSMC, CC0) mention the same kind of names in
telling contexts — ``X의 연기``, ``X 감독``, ``X씨``, ``X 나오는``, ``X 짱`` — so a word that often sits in
such a context is probably a person. The miner counts, for every whitespace word stem (a word with
one trailing particle removed), how often it occurs and how often in a person context, and keeps
the stems that are person-like often enough. No label from any NER data set is used. Reviews whose
text (spaces removed) equals a KLUE-NER dev sentence are skipped, so the evaluation sentences do not
feed the lexicon even as unlabelled text.

The lexicon is shipped as gzip text (``stem<TAB>bucket``; bucket 1-3 = how person-like).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
from collections import Counter
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from pathlib import Path

LEXICON_RESOURCE = "person_lexicon.tsv.gz"

_PARTICLES = tuple(
    sorted(
        (
            "의", "이", "가", "은", "는", "을", "를", "과", "와", "도", "랑", "이랑", "만", "에게", "한테",
            "께서", "이가", "이는", "이의", "이를", "이도", "이랑", "이한테", "처럼", "보다", "까지", "이나", "나",
        ),
        key=len,
        reverse=True,
    )
)  # fmt: skip
_PERSON_SUFFIX = tuple(
    sorted(
        ("씨", "씨의", "씨가", "씨는", "씨도", "님", "님의", "님이", "감독", "감독의", "감독님", "형", "누나",
         "언니", "오빠", "옹", "여사", "선수", "배우"),
        key=len,
        reverse=True,
    )
)  # fmt: skip
_PERSON_NEXT = (
    "연기", "감독", "배우", "씨", "님", "주연", "나오", "나온", "출연", "짱", "얼굴", "목소리", "이쁘", "예쁘",
    "잘생", "멋있", "멋지", "귀엽", "최고", "선수", "형", "누나", "언니", "오빠", "역", "팬", "외모", "미모",
    "연기력", "때문에", "보려고", "보러", "나와서", "사랑해", "좋아",
)  # fmt: skip
_WORD = re.compile(r"[가-힣A-Za-z]+(?:[가-힣A-Za-z]*)")


def stem(word: str) -> tuple[str, bool]:
    """``(stem, person_suffix)``: the word without one trailing particle or person suffix."""
    for suf in _PERSON_SUFFIX:
        if word.endswith(suf) and len(word) - len(suf) >= 2:
            return word[: -len(suf)], True
    for suf in _PARTICLES:
        if word.endswith(suf) and len(word) - len(suf) >= 2:
            return word[: -len(suf)], False
    return word, False


def mine(texts: Iterable[str], *, min_person: int = 2, min_ratio: float = 0.1) -> dict[str, int]:
    """Stem → bucket (1: ratio ≥ min_ratio, 2: ≥ 0.3, 3: ≥ 0.5) over ``texts``."""
    total: Counter[str] = Counter()
    person: Counter[str] = Counter()
    for text in texts:
        words = _WORD.findall(text)
        for k, w in enumerate(words):
            s, suffix = stem(w)
            if not 2 <= len(s) <= 8:
                continue
            total[s] += 1
            nxt = words[k + 1] if k + 1 < len(words) else ""
            if (
                suffix
                or (nxt and nxt.startswith(_PERSON_NEXT))
                or (w.endswith("의") and nxt.startswith("연기"))
            ):
                person[s] += 1
    out: dict[str, int] = {}
    for s, p in person.items():
        if p < min_person:
            continue
        ratio = p / total[s]
        if ratio >= min_ratio:
            out[s] = 3 if ratio >= 0.5 else 2 if ratio >= 0.3 else 1
    return out


def default_lexicon_path() -> Path:
    return Path(str(resources.files("hanstack") / "data" / "guard" / LEXICON_RESOURCE))


@lru_cache(maxsize=1)
def load_lexicon(path: str | None = None) -> dict[str, int]:
    """The shipped lexicon (empty when the file is absent: the CRF then just lacks the feature)."""
    p = Path(path) if path else default_lexicon_path()
    if not p.exists():
        return {}
    with gzip.open(p, "rt", encoding="utf-8") as f:
        rows = (line.rstrip("\n").split("\t") for line in f if line.strip())
        return {w: int(b) for w, b in rows}


KNOWN_RESOURCE = "person_names_klue.tsv.gz"


def known_names(sentences: Iterable[tuple[str, list[tuple[str, int, int]]]]) -> dict[str, int]:
    """Person spans (2-12 characters) of labelled training sentences: a gazetteer of seen names."""
    return {text[a:b]: 1 for text, ents in sentences for t, a, b in ents if t == "PS" and 2 <= b - a <= 12}


@lru_cache(maxsize=1)
def load_known_names(path: str | None = None) -> dict[str, int]:
    """Names seen in the CRF's training half of KLUE-NER dev (CC BY-SA 4.0), shipped next to it."""
    return load_lexicon.__wrapped__(
        path or str(Path(str(resources.files("hanstack") / "data" / "guard" / KNOWN_RESOURCE)))
    )


def save_lexicon(lexicon: dict[str, int], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as f:
        for w in sorted(lexicon):
            f.write(f"{w}\t{lexicon[w]}\n")


def nsmc_reviews(shared: Path, exclude: set[str]) -> Iterable[str]:
    with gzip.open(shared / "corpora" / "nsmc" / "nsmc_raw_reviews.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            review = str(json.loads(line).get("review", ""))
            if review and re.sub(r"\s+", "", review) not in exclude:
                yield review


def main(argv: list[str] | None = None) -> None:
    from hanstack.guard.pii.name_model import klue_sentences

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", type=Path, default=Path.cwd().parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=default_lexicon_path())
    args = ap.parse_args(argv)
    klue = klue_sentences(args.shared / "nlu" / "klue-ner-v1.1_dev.tsv")
    exclude = {re.sub(r"\s+", "", t) for t, _ in klue}
    lex = mine(nsmc_reviews(args.shared, exclude))
    save_lexicon(lex, args.out)
    print(f"saved {args.out}: {len(lex)} stems ({Counter(lex.values())})")


if __name__ == "__main__":
    main()
