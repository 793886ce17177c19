"""The person-name model: logistic regression over Kiwi name candidates and their neighbours.

    python -m hanstack.guard.pii.name_model [--shared ../shared/data] [--out PATH]

Trained on the KLUE-NER v1.1 dev sentences with an *even* index (2,500 sentences; candidates that
exactly match a PS span are positives); bench/guard.py reports on the odd-indexed sentences, which the
model never saw. The model file is gzip JSON shipped in ``hanstack/data/guard``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from hanstack.errors import GuardError

MODEL_RESOURCE = "person_name_lr.json.gz"


def default_name_model_path() -> Path:
    return Path(str(resources.files("hanstack") / "data" / "guard" / MODEL_RESOURCE))


class NameModel:
    def __init__(self, weights: dict[str, float], bias: float, meta: dict[str, Any] | None = None) -> None:
        self.weights = weights
        self.bias = bias
        self.meta = meta or {}

    @property
    def threshold(self) -> float:
        t = self.meta.get("threshold")
        return float(t) if isinstance(t, int | float) and 0 < t < 1 else 0.5

    def predict(self, features: set[str]) -> float:
        z = self.bias + sum(self.weights.get(f, 0.0) for f in features)
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def score(self, features: set[str]) -> tuple[float, float]:
        """``(p, calibrated)``: calibrated is 0.5 at the model's operating point (the default threshold)."""
        p = self.predict(features)
        t = self.threshold
        return p, (0.5 * p / t if p < t else 0.5 + 0.5 * (p - t) / (1 - t))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(path, "wt", encoding="utf-8") as f:
            json.dump(
                {"version": 1, "bias": self.bias, "meta": self.meta, "weights": self.weights},
                f,
                ensure_ascii=False,
                separators=(",", ":"),
                sort_keys=True,
            )

    @classmethod
    def load(cls, path: Path) -> NameModel:
        try:
            with gzip.open(path, "rt", encoding="utf-8") as f:
                data = json.load(f)
            return cls(
                {str(k): float(v) for k, v in data["weights"].items()},
                float(data["bias"]),
                data.get("meta", {}),
            )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise GuardError(
                f"cannot load the person-name model {path}: {exc}",
                hint="retrain with: python -m hanstack.guard.pii.name_model",
            ) from exc


@lru_cache(maxsize=1)
def load_name_model() -> NameModel | None:
    path = default_name_model_path()
    return NameModel.load(path) if path.exists() else None


def klue_sentences(path: Path) -> list[tuple[str, list[tuple[str, int, int]]]]:
    """KLUE-NER TSV (one character a line, blank line between sentences) → (text, [(tag, start, end)])."""
    sents: list[tuple[str, list[str]]] = []
    chars: list[str] = []
    tags: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            continue
        if not line:
            if chars:
                sents.append(("".join(chars), tags))
                chars, tags = [], []
            continue
        c, _, t = line.partition("\t")
        chars.append(c if c else " ")
        tags.append(t or "O")
    if chars:
        sents.append(("".join(chars), tags))
    out = []
    for text, tg in sents:
        ents, i = [], 0
        while i < len(tg):
            if tg[i].startswith("B-"):
                typ, j = tg[i][2:], i + 1
                while j < len(tg) and tg[j] == "I-" + typ:
                    j += 1
                ents.append((typ, i, j))
                i = j
            else:
                i += 1
        out.append((text, ents))
    return out


def training_examples(
    sentences: list[tuple[str, list[tuple[str, int, int]]]], kiwi: Any
) -> tuple[list[set[str]], list[int]]:
    from hanstack.guard.pii.names import candidate_features, name_candidates

    feats: list[set[str]] = []
    labels: list[int] = []
    for text, ents in sentences:
        gold = {(a, b) for t, a, b in ents if t == "PS"}
        toks = kiwi.tokenize(text)
        for start, end, i, j in name_candidates(text, toks):
            feats.append(candidate_features(text[start:end], toks, i, j))
            labels.append(int((start, end) in gold))
    return feats, labels


def train(shared: Path, kiwi: Any) -> NameModel:
    from hanstack.guard.injection.classifier import fit_logistic

    sents = klue_sentences(shared / "nlu" / "klue-ner-v1.1_dev.tsv")
    train_part = [s for i, s in enumerate(sents) if i % 2 == 0]
    feats, labels = training_examples(train_part, kiwi)
    weights, bias, meta = fit_logistic(
        feats, labels, min_count=2, l2=1e-3, steps=400, lr=0.05, positive_weight=1.0, prune=0.01
    )
    model = NameModel(weights, bias, meta)
    # operating point: the candidate-level F1-optimal probability on the training half itself
    scored = sorted(((model.predict(f), y) for f, y in zip(feats, labels, strict=True)), reverse=True)
    total_pos = sum(labels) or 1
    best, best_t, tp = 0.0, 0.5, 0
    for k, (p, y) in enumerate(scored, 1):
        tp += y
        f1 = 2 * tp / (k + total_pos)
        if f1 > best:
            best, best_t = f1, p
    meta.update(
        {
            "data": "KLUE-NER v1.1 dev, sentences with an even index",
            "sentences": len(train_part),
            "threshold": round(best_t, 4),
            "train_candidate_f1": round(best, 4),
        }
    )
    return model


def main(argv: list[str] | None = None) -> None:
    from hanstack.korean.analyzer import get_kiwi

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", type=Path, default=Path.cwd().parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=default_name_model_path())
    args = ap.parse_args(argv)
    if not (args.shared / "nlu" / "klue-ner-v1.1_dev.tsv").exists():
        raise GuardError(f"KLUE-NER dev not found under {args.shared}", hint="pass --shared")
    model = train(args.shared, get_kiwi(workers=1).kiwi)
    model.save(args.out)
    print(f"saved {args.out} ({len(model.weights)} weights; {model.meta})")


if __name__ == "__main__":
    main()
