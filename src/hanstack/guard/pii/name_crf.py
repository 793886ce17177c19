"""Person names as a sequence-labelling problem: a character-level BIO CRF over Kiwi morphemes.

    python -m hanstack.guard.pii.name_crf [--shared ../shared/data] [--out PATH] [--half even|odd]

Why a CRF and why characters: KLUE-NER marks person spans on characters, and many of them are not
one Kiwi token (``반 페르시``, ``가네코 지히로``, a surname alone in ``박 씨``, a letter in ``A씨``, names Kiwi
splits into syllables). A linear-chain CRF labels each character ``B``/``I``/``O`` per KLUE entity type
(``PS``, and ``LC``/``OG``/… as helper labels that teach it what is *not* a person) from features of:

- the character window (unigrams, bigrams, a trigram) and character classes;
- the Kiwi morpheme covering the character (tag, position B/I/E/S inside it, form, length) and the
  morphemes before and after it (a title such as 씨/감독/선수, a particle, a verb);
- surname lists (single and compound), title/honorific words and label words to the right/left
  (from :mod:`hanstack.guard.pii.names`);
- the whitespace word (position of the character in it).

Training data: KLUE-NER v1.1 dev sentences with an *even* index (2,500 sentences); bench/guard.py
reports on the *odd*-indexed ones, which the model never saw. (``--half odd`` trains on the odd ones
instead, into a scratch ``--out``: the reverse fold of notes/guard.md, scored on the even half with
``bench/guard.py --klue-half even --names-model-dir DIR``.) Weights are learnt from CC BY-SA 4.0
data (see notes/guard.md for the licence question). The model is a python-crfsuite file shipped in
``hanstack/data/guard`` and loaded lazily on first use.
"""

from __future__ import annotations

import argparse
import pickle
import re
import time
from collections.abc import Mapping, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from hanstack.errors import GuardError, MissingDependencyError

MODEL_RESOURCE = "person_name_crf.crfsuite"
E5_MODEL_RESOURCE = "person_name_crf_e5.crfsuite"

_HANGUL_LO, _HANGUL_HI = "가", "힣"
_T = TypeVar("_T")


def default_crf_path(e5: bool = False) -> Path:
    name = E5_MODEL_RESOURCE if e5 else MODEL_RESOURCE
    return Path(str(resources.files("hanstack") / "data" / "guard" / name))


def _char_class(ch: str) -> str:
    if _HANGUL_LO <= ch <= _HANGUL_HI:
        return "H"
    if ch.isspace():
        return "S"
    if ch.isdigit():
        return "D"
    if ch.isascii() and ch.isalpha():
        return "U" if ch.isupper() else "L"
    if ch.isalpha():
        return "A"  # other scripts: Hanja, kana, Latin with accents
    return "P"


def _coarse(tag: str) -> str:
    return tag.split("-")[0]


@lru_cache(maxsize=1)
def _lexicons() -> tuple[frozenset[str], frozenset[str], frozenset[str], frozenset[str], frozenset[str]]:
    from hanstack.guard.pii.names import COMPOUND_SURNAMES, LABELS, SURNAME_SET, TITLES

    person_follow = frozenset({"씨", "님", "군", "양", "옹", "여사", "모", "모씨", "측", "부부"})
    titles = (
        frozenset(t for t in TITLES if len(t) <= 4)
        | person_follow
        | frozenset(
            {"배우", "가수", "감독", "선수", "코치", "주연", "역", "회장", "대표", "의원", "후보", "당선인"}
        )
    )
    return (
        frozenset(s for s in SURNAME_SET if len(s) == 1),
        frozenset(COMPOUND_SURNAMES),
        titles,
        frozenset(LABELS),
        person_follow,
    )


def _prefix_marks(text: str, entries: Mapping[str, int], max_len: int) -> list[str]:
    """Per character: ``B3``/``I3``/``E3``… when the character is inside the longest entry that starts
    at the start of a letter run (a stem followed by a particle still matches); the digit is the
    entry's bucket."""
    n = len(text)
    marks = [""] * n
    if not entries:
        return marks
    for m in _WORD_RX.finditer(text):
        a = m.start()
        for length in range(min(max_len, n - a), 1, -1):
            bucket = entries.get(text[a : a + length])
            if bucket:
                marks[a] = f"B{bucket}"
                for p in range(a + 1, a + length):
                    marks[p] = f"I{bucket}"
                marks[a + length - 1] = f"E{bucket}"
                break
    return marks


_WORD_RX = re.compile(r"[가-힣A-Za-z]+")


def char_features(
    text: str,
    toks: Sequence[Any],
    lexicon: Mapping[str, int] | None = None,
    known: Mapping[str, int] | None = None,
) -> list[list[str]]:
    """CRF features for every character of ``text`` given Kiwi's tokens of that same text.

    Pure function of its inputs (tokens carry ``form``, ``tag``, ``start``, ``len``; ``lexicon`` is
    the mined person-word lexicon and ``known`` the names seen in training, the shipped ones when
    ``None``), so training and tagging extract exactly the same features.
    """
    single, compound, titles, labels, _ = _lexicons()
    if lexicon is None:
        from hanstack.guard.pii.name_lexicon import load_lexicon

        lexicon = load_lexicon()
    if known is None:
        from hanstack.guard.pii.name_lexicon import load_known_names

        known = load_known_names()
    n = len(text)
    lex = _prefix_marks(text, lexicon, 8)
    gaz = _prefix_marks(text, known, 12)
    # covering token per character (Kiwi tokens may overlap after normalisation: take the first)
    cover = [-1] * n
    for k, t in enumerate(toks):
        for p in range(max(0, t.start), min(n, t.start + t.len)):
            if cover[p] < 0:
                cover[p] = k
    # whitespace-word position of each character
    wpos = [0] * n
    wlen = [0] * n
    i = 0
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        j = i
        while j < n and not text[j].isspace():
            j += 1
        for p in range(i, j):
            wpos[p] = p - i
            wlen[p] = j - i
        i = j
    padded = "\x02\x02" + text + "\x03\x03"
    classes = ["B", "B", *(_char_class(ch) for ch in text), "E", "E"]
    nt = len(toks)
    feats: list[list[str]] = []
    for i in range(n):
        ch = text[i]
        q = i + 2
        cm2, cm1, c1, c2 = padded[q - 2], padded[q - 1], padded[q + 1], padded[q + 2]
        f = [
            "b",
            "c=" + ch,
            "c-1=" + cm1,
            "c+1=" + c1,
            "c-2=" + cm2,
            "c+2=" + c2,
            "c-1c=" + cm1 + ch,
            "cc+1=" + ch + c1,
            "c-2c-1=" + cm2 + cm1,
            "c+1c+2=" + c1 + c2,
            "c-1cc+1=" + cm1 + ch + c1,
            "k=" + classes[q],
            "k3=" + classes[q - 1] + classes[q] + classes[q + 1],
            "w=" + str(min(wpos[i], 4)) + "/" + str(min(wlen[i], 6)),
        ]
        if lex[i]:
            f.append("lex=" + lex[i])
            f.append("lexp=" + lex[i][0])
        if gaz[i]:
            f.append("known=" + gaz[i][0])
        if ch in single:
            f.append("sur")
        if text[i : i + 2] in compound:
            f.append("sur2")
        if cm1 in single and i >= 1 and (i == 1 or not ("가" <= padded[q - 2] <= "힣")):
            f.append("prev_sur_wordstart")
        k = cover[i]
        if k < 0:
            f.append("t=NONE")
        else:
            t = toks[k]
            tag = _coarse(t.tag)
            off = i - t.start
            pos = "S" if t.len == 1 else ("B" if off == 0 else ("E" if off == t.len - 1 else "I"))
            f += [
                "t=" + tag,
                "tp=" + tag + pos,
                "tl=" + str(min(t.len, 6)),
                "tf=" + t.form if t.len <= 6 else "tf=LONG",
            ]
            if t.len >= 2 and t.form[0] in single and tag.startswith("NN"):
                f.append("t_sur_initial/" + tag)
            for d in (-2, -1, 1, 2):
                kk = k + d
                if 0 <= kk < nt:
                    u = toks[kk]
                    ut = _coarse(u.tag)
                    f.append(f"t{d:+d}={ut}")
                    if d in (-1, 1) or ut.startswith(("N", "J", "X")):
                        f.append(f"tf{d:+d}={u.form}/{ut}")
                    if d > 0 and u.form in titles:
                        f.append(f"title{d:+d}")
                    if d < 0 and u.form in labels:
                        f.append(f"label{d:+d}")
                else:
                    f.append(f"t{d:+d}=EDGE")
        feats.append(f)
    return feats


def bio_labels(n: int, ents: Sequence[tuple[str, int, int]], keep: frozenset[str] | None = None) -> list[str]:
    """Character BIO labels for ``n`` characters from ``(type, start, end)`` spans."""
    y = ["O"] * n
    for typ, a, b in ents:
        if keep is not None and typ not in keep:
            continue
        y[a] = "B-" + typ
        for p in range(a + 1, b):
            y[p] = "I-" + typ
    return y


def spans_from_labels(labels: Sequence[str], typ: str = "PS") -> list[tuple[int, int]]:
    """``(start, end)`` of each ``B-typ I-typ*`` run (an ``I`` without a ``B`` also starts a span)."""
    out: list[tuple[int, int]] = []
    start = -1
    for i, lab in enumerate([*labels, "O"]):
        inside = lab == "I-" + typ and start >= 0
        if inside:
            continue
        if start >= 0:
            out.append((start, i))
            start = -1
        if lab in ("B-" + typ, "I-" + typ):
            start = i
    return out


_SEGMENT = re.compile(r"[^\n]*?(?:[.!?。](?=\s)|\n|$)")


def segments(text: str, max_len: int = 400) -> list[tuple[int, int]]:
    """Sentence-ish ``(start, end)`` pieces (at ``. ! ?`` + space, newlines, or every ``max_len``)."""
    out: list[tuple[int, int]] = []
    for m in _SEGMENT.finditer(text):
        a, b = m.start(), m.end()
        while b - a > max_len:
            cut = text.rfind(" ", a, a + max_len)
            cut = cut if cut > a else a + max_len
            out.append((a, cut))
            a = cut
        if text[a:b].strip():
            out.append((a, b))
    return out


class NameTagger:
    """The shipped CRF: ``find(text, kiwi)`` → ``[(start, end, probability)]`` person spans.

    With ``probe_path`` (mode ``crf-e5``) every segment is also run through multilingual-e5-small
    (:mod:`hanstack.guard.pii.e5_states`) and the CRF gets the probe features of
    :mod:`hanstack.guard.pii.name_e5` next to its own. With ``rescorer_path`` as well, the spans
    are candidates from the CRF's marginals rescored by :mod:`hanstack.guard.pii.name_span`
    instead of the Viterbi spans with their mean marginal. ``known_path``: the seen-name list saved
    with the model (the shipped one when ``None``); a model trained on other sentences must be
    given its own, or it would read the names of the shipped model's training half.
    """

    def __init__(
        self,
        path: Path,
        probe_path: Path | None = None,
        rescorer_path: Path | None = None,
        known_path: Path | None = None,
    ) -> None:
        try:
            import pycrfsuite
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise MissingDependencyError(
                "python-crfsuite", "guard", "the person-name CRF (PiiConfig(names='crf'))"
            ) from exc
        if rescorer_path is not None and probe_path is None:
            raise GuardError("the span rescorer reads the e5 probe: pass probe_path too")
        for p in (path, probe_path, rescorer_path, known_path):
            if p is not None and not p.exists():
                raise GuardError(
                    f"person-name CRF file not found at {p}",
                    hint="retrain with: python -m hanstack.guard.pii.name_crf"
                    + (" --e5" if probe_path is not None else ""),
                )
        self.path = path
        self._known: dict[str, int] | None = None  # None: the shipped seen names
        if known_path is not None:
            from hanstack.guard.pii.name_lexicon import load_known_names

            self._known = load_known_names.__wrapped__(str(known_path))
        self._tagger = pycrfsuite.Tagger()
        self._tagger.open(str(path))
        self._probe: Any = None
        self._encoder: Any = None
        if probe_path is not None:
            from hanstack.guard.pii.e5_states import load_encoder
            from hanstack.guard.pii.name_e5 import E5Probe

            self._probe = E5Probe.load(probe_path)
            self._encoder = load_encoder()
        self._rescorer: Any = None
        if rescorer_path is not None:
            from hanstack.guard.pii.name_span import SpanRescorer

            self._rescorer = SpanRescorer.load(rescorer_path)

    def features(self, text: str, toks: Sequence[Any]) -> list[list[str]]:
        return self._analyse(text, toks)[0]

    def _analyse(self, text: str, toks: Sequence[Any]) -> tuple[list[list[str]], Any, Any]:
        """CRF features, and with the e5 probe the token states and probe probabilities."""
        feats = char_features(text, toks, known=self._known)
        if self._probe is None:
            return feats, None, None
        from hanstack.guard.pii.name_e5 import e5_char_features

        layers = self._probe.layers
        ts = self._encoder.encode(text, () if layers == (12,) else layers)
        probs = self._probe.probs(ts.states)
        extra = e5_char_features(len(text), ts, probs, self._probe.clusters(ts.states))
        return [a + b for a, b in zip(feats, extra, strict=True)], ts, probs

    def tag(self, text: str, toks: Sequence[Any]) -> list[str]:
        return list(self._tagger.tag(self.features(text, toks)))

    def find(self, text: str, kiwi: Any) -> list[tuple[int, int, float]]:
        out: list[tuple[int, int, float]] = []
        for a, b in segments(text):
            piece = text[a:b]
            toks = kiwi.tokenize(piece)
            feats, ts, probs = self._analyse(piece, toks)
            labels = self._tagger.tag(feats)
            if self._rescorer is not None:
                out += [(a + s, a + e, p) for s, e, p in self._rescore(piece, toks, labels, ts, probs)]
                continue
            for s, e in spans_from_labels(labels):
                # probability of the whole labelled path is a poor span confidence; use the mean
                # marginal of the span's labels instead (cheap: crfsuite keeps the lattice)
                marg = [self._tagger.marginal(labels[p], p) for p in range(s, e)]
                out.append((a + s, a + e, sum(marg) / len(marg)))
        return out

    def _rescore(
        self, text: str, toks: Sequence[Any], labels: Sequence[str], ts: Any, probs: Any
    ) -> list[tuple[int, int, float]]:
        """Rescored spans of one segment the tagger has just labelled (scores under 0.1 dropped)."""
        from hanstack.guard.pii.name_lexicon import load_known_names, load_lexicon
        from hanstack.guard.pii.name_span import SpanContext, crf_marginals

        ctx = SpanContext(
            text,
            toks,
            labels,
            crf_marginals(self._tagger, len(text)),
            ts.spans,
            probs,
            load_known_names() if self._known is None else self._known,
            load_lexicon(),
        )
        return [x for x in self._rescorer.find(ctx) if x[2] >= 0.1]


@lru_cache(maxsize=4)
def load_name_tagger(path: str | None = None, e5: bool = False, model_dir: str | None = None) -> NameTagger:
    """The shipped tagger (``e5``: the one with e5 probe features), opened once per process.

    ``model_dir``: a directory written by ``python -m hanstack.guard.pii.name_crf --out DIR/<model
    file name>`` instead of the shipped one; every file is read from there under its shipped name
    (the CRF, the seen names and, for ``e5``, the probe and the span rescorer when present). Only the
    mined NSMC lexicon, which no training run writes, stays the shipped one.
    """
    if model_dir is not None:
        if path is not None:
            raise GuardError("pass the model file path or the model directory, not both")
        return _tagger_from_dir(Path(model_dir), e5)
    if not e5:
        return NameTagger(Path(path) if path else default_crf_path())
    from hanstack.guard.pii.name_e5 import default_probe_path
    from hanstack.guard.pii.name_span import default_rescorer_path

    rescorer = default_rescorer_path()  # shipped with the model; a model without one tags plainly
    return NameTagger(
        Path(path) if path else default_crf_path(e5=True),
        default_probe_path(),
        rescorer if path is None and rescorer.exists() else None,
    )


def _tagger_from_dir(d: Path, e5: bool) -> NameTagger:
    from hanstack.guard.pii.name_lexicon import KNOWN_RESOURCE

    if not d.is_dir():
        raise GuardError(f"person-name model directory {d} not found")
    if not e5:
        return NameTagger(d / MODEL_RESOURCE, known_path=d / KNOWN_RESOURCE)
    from hanstack.guard.pii.name_e5 import PROBE_RESOURCE
    from hanstack.guard.pii.name_span import RESCORER_RESOURCE

    rescorer = d / RESCORER_RESOURCE
    return NameTagger(
        d / E5_MODEL_RESOURCE,
        d / PROBE_RESOURCE,
        rescorer if rescorer.exists() else None,
        known_path=d / KNOWN_RESOURCE,
    )


# --- training ------------------------------------------------------------------------------------
def train(
    sentences: Sequence[tuple[str, list[tuple[str, int, int]]]],
    kiwi: Any,
    out: Path,
    *,
    c1: float = 0.05,
    c2: float = 0.01,
    max_iterations: int = 150,
    keep: frozenset[str] | None = None,
    lexicon: Mapping[str, int] | None = None,
    folds: int = 5,
    extra: Sequence[Sequence[list[str]]] | None = None,
) -> dict[str, Any]:
    """Train on ``sentences`` and save the model to ``out``; returns the seen-name gazetteer and stats.

    The seen-name feature is *jackknifed*: a training sentence sees the names of the other
    ``folds - 1`` folds only, as an unseen sentence at tagging time sees the names of all training
    sentences; without that the CRF would learn that a seen name is always a name.
    """
    try:
        import pycrfsuite
    except ImportError as exc:  # pragma: no cover
        raise MissingDependencyError("python-crfsuite", "guard", "training the person-name CRF") from exc
    from hanstack.guard.pii.name_lexicon import known_names, load_lexicon

    lex = load_lexicon() if lexicon is None else lexicon
    fold_known = [known_names([s for j, s in enumerate(sentences) if j % folds != k]) for k in range(folds)]
    trainer = pycrfsuite.Trainer(verbose=False)
    for j, (text, ents) in enumerate(sentences):
        feats = char_features(text, kiwi.tokenize(text), lex, fold_known[j % folds])
        if extra is not None:
            feats = [a + list(b) for a, b in zip(feats, extra[j], strict=True)]
        trainer.append(feats, bio_labels(len(text), ents, keep))
    trainer.set_params(
        {"c1": c1, "c2": c2, "max_iterations": max_iterations, "feature.possible_transitions": True}
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    trainer.train(str(out))
    return {
        "seconds": round(time.perf_counter() - t0, 1),
        "size": out.stat().st_size,
        "known": known_names(sentences),
    }


HALVES = ("even", "odd")


def klue_half(sentences: Sequence[_T], half: str) -> list[_T]:
    """The ``half`` (``"even"`` or ``"odd"``) of KLUE-NER dev by sentence index. The shipped models
    train on the even half and bench/guard.py scores the odd one; ``--half odd`` is the reverse fold."""
    if half not in HALVES:
        raise GuardError(f"unknown KLUE-NER half {half!r}", hint="use even or odd")
    r = HALVES.index(half)
    return [s for i, s in enumerate(sentences) if i % 2 == r]


def _claim_cache(path: Path | None, half: str, n: int, *, directory: bool) -> None:
    """Refuse a training cache made from the other half: a cache file or directory records the
    half and sentence count it was made from (``FILE.half`` / ``DIR/klue_half.txt``). The cache
    file names alone do not say (both halves have 2,500 sentences), so without this an odd-half
    run would silently reuse even-half states or probes. A cache made before ``--half`` existed
    has no record: accepted for the even half (the only one it can be), refused for the odd one."""
    if path is None:
        return
    mark = path / "klue_half.txt" if directory else path.with_name(path.name + ".half")
    want = f"{half} {n}"
    if mark.exists():
        got = mark.read_text(encoding="utf-8").strip()
        if got != want:
            raise GuardError(
                f"the cache {path} was made from the {got} KLUE-NER sentences, this run trains on {want}",
                hint="pass a new cache path for this half",
            )
        return
    used = path.exists() and (path.is_file() or any(path.iterdir()))
    if used and half != "even":
        raise GuardError(
            f"the cache {path} does not record which half it was made from (older run: the even half)",
            hint="pass a new cache path for this half",
        )
    mark.parent.mkdir(parents=True, exist_ok=True)
    mark.write_text(want + "\n", encoding="utf-8")


def encode_states(
    texts: Sequence[str],
    layers: tuple[int, ...],
    cache: Path | None,
    *,
    encoder: Any = None,
    chunk: int = 100,
) -> list[Any]:
    """e5 states of ``texts`` (:func:`~hanstack.guard.pii.name_e5.encode_all`), reusing ``cache``
    (a pickle this function wrote) when present. While encoding, every ``chunk`` sentences are
    saved as ``FILE.partNNNNN`` so a run cut short (a time limit on a shared machine) resumes from
    the last saved piece; the pieces are joined into ``cache`` and removed at the end. ``encoder``:
    the shipped e5 encoder when ``None`` (loaded only if something is left to encode)."""
    from hanstack.guard.pii.e5_states import load_encoder
    from hanstack.guard.pii.name_e5 import encode_all

    if cache is not None and cache.exists():
        with cache.open("rb") as f:
            return list(pickle.load(f))  # a file this command wrote itself
    if cache is None:
        return encode_all(texts, encoder or load_encoder(), progress=True, layers=layers)
    cache.parent.mkdir(parents=True, exist_ok=True)
    states: list[Any] = []
    t0 = time.perf_counter()
    for a in range(0, len(texts), chunk):
        part = cache.with_name(f"{cache.name}.part{a:05d}")
        if part.exists():
            with part.open("rb") as f:
                batch = pickle.load(f)  # a piece this function wrote itself
        else:
            encoder = encoder or load_encoder()
            batch = encode_all(texts[a : a + chunk], encoder, layers=layers)
            tmp = part.with_name(part.name + ".tmp")
            with tmp.open("wb") as f:
                pickle.dump(batch, f)
            tmp.rename(part)
            print(f"  e5 states {a + len(batch)}/{len(texts)} ({time.perf_counter() - t0:.0f} s)", flush=True)
        states += batch
    tmp = cache.with_name(cache.name + ".tmp")
    with tmp.open("wb") as f:
        pickle.dump(states, f)
    tmp.rename(cache)
    for a in range(0, len(texts), chunk):
        cache.with_name(f"{cache.name}.part{a:05d}").unlink(missing_ok=True)
    return states


def main(argv: list[str] | None = None) -> None:
    from hanstack.guard.pii.name_lexicon import KNOWN_RESOURCE, load_lexicon, save_lexicon
    from hanstack.guard.pii.name_model import klue_sentences
    from hanstack.korean.analyzer import get_kiwi

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shared", type=Path, default=Path.cwd().parent / "shared" / "data")
    ap.add_argument("--out", type=Path, default=None, help="model path (default: the shipped one)")
    ap.add_argument(
        "--half",
        choices=HALVES,
        default="even",
        help="which KLUE-NER dev sentences to train on, by index (default even: the shipped models; "
        "odd: the reverse fold, needs an --out outside the shipped directory)",
    )
    ap.add_argument(
        "--e5",
        action="store_true",
        help="train the crf-e5 model: adds multilingual-e5-small probe features (~15-30 min, one core)",
    )
    ap.add_argument(
        "--states-cache",
        type=Path,
        default=None,
        help="pickle of the e5 states, reused when present (--e5); saved in pieces while encoding, so a "
        "run cut short resumes",
    )
    ap.add_argument(
        "--layers",
        default="7",
        help="comma-separated e5 layers (1-12) the probe reads side by side (--e5; the encoder stops "
        "at the highest); layer 7 was best on the inner split",
    )
    ap.add_argument(
        "--hidden", type=int, default=256, help="hidden units of the MLP probe (--e5; 0: a logistic probe)"
    )
    ap.add_argument("--epochs", type=int, default=15, help="training passes of the MLP probe")
    ap.add_argument(
        "--probe-cache",
        type=Path,
        default=None,
        help="directory for the fitted probes (--e5): a rerun reuses them, so training can run in pieces",
    )
    ap.add_argument(
        "--span-cache",
        type=Path,
        default=None,
        help="directory for the span rescorer's five fold CRFs (--e5): a rerun reuses them",
    )
    ap.add_argument("--c1", type=float, default=0.05)
    ap.add_argument("--c2", type=float, default=0.01)
    ap.add_argument("--iterations", type=int, default=150)
    args = ap.parse_args(argv)
    src = args.shared / "nlu" / "klue-ner-v1.1_dev.tsv"
    if not src.exists():
        raise GuardError(f"KLUE-NER dev not found at {src}", hint="pass --shared")
    sents = klue_half(klue_sentences(src), args.half)
    out: Path = args.out or default_crf_path(e5=args.e5)
    shipped = default_crf_path().parent.resolve()
    if args.half != "even" and out.parent.resolve() == shipped:
        raise GuardError(
            f"--half {args.half} would replace the shipped model in {shipped}",
            hint="pass --out PATH outside it: the shipped models are trained on the even half",
        )
    _claim_cache(args.states_cache, args.half, len(sents), directory=False)
    for d in (args.probe_cache, args.span_cache):
        _claim_cache(d, args.half, len(sents), directory=True)
    print(
        f"training on {len(sents)} {args.half}-indexed KLUE-NER dev sentences into {out.parent}", flush=True
    )
    extra = None
    if args.e5:
        from hanstack.guard.pii.name_e5 import PROBE_RESOURCE, cross_fitted_probs_and_features

        layers = tuple(int(v) for v in args.layers.split(","))
        cache: Path | None = args.states_cache
        enc_layers = () if layers == (12,) else layers
        texts = [t for t, _ in sents]
        states = encode_states(texts, enc_layers, cache)
        width = states[0].states.shape[1]
        if width != 384 * len(layers):
            raise GuardError(
                f"the states in {cache} are {width} wide, --layers {args.layers} needs {384 * len(layers)}",
                hint="pass the --layers the cache was made with, or a new --states-cache path",
            )
        extra, probs, probe = cross_fitted_probs_and_features(
            sents, states, layers=layers, hidden=args.hidden, epochs=args.epochs, cache=args.probe_cache
        )
        probe.save(out.parent / PROBE_RESOURCE)
    info = train(
        sents,
        get_kiwi(workers=1).kiwi,
        out,
        c1=args.c1,
        c2=args.c2,
        max_iterations=args.iterations,
        lexicon=load_lexicon(),
        extra=extra,
    )
    known = info.pop("known")
    save_lexicon(known, out.parent / KNOWN_RESOURCE)
    if extra is not None:  # --e5
        import tempfile

        from hanstack.guard.pii.name_span import RESCORER_RESOURCE, train_rescorer

        with tempfile.TemporaryDirectory() as tmp:
            rescorer = train_rescorer(
                sents,
                get_kiwi(workers=1).kiwi,
                extra,
                probs,
                [ts.spans for ts in states],
                load_lexicon(),
                workdir=args.span_cache or Path(tmp),
                c1=args.c1,
                c2=args.c2,
                max_iterations=args.iterations,
            )
        rescorer.save(out.parent / RESCORER_RESOURCE)
        print(f"saved the span rescorer {out.parent / RESCORER_RESOURCE} ({len(rescorer.names)} features)")
    print(
        f"saved {out} and {len(known)} seen names: {info} "
        f"(trained on {len(sents)} {args.half}-indexed KLUE-NER dev sentences)"
    )


if __name__ == "__main__":
    main()
