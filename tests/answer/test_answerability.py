"""The opt-in query-likelihood answerability check (``answer.answerability = "likelihood"``).

- The pipeline's decision is the bench's: :func:`relative_gain` is bench/answers.py's ``relative_gain``
  feature on every recorded 1.5B per-query record, and the default threshold reproduces the measured
  fit and held-out rates from those records.
- The default (``gate``) never loads the scoring model nor scores.
- A scoring backend without logits (extractive, a scripted/HTTP-like one) or a tier not pulled leaves
  the decision to the gate, and the answer says so.
- On the tiny-test GGUF through llama.cpp: the check runs with the bench's scorer and is recorded; a
  very high threshold abstains with the reason, a very low one lets even a question the gate refuses
  through.
"""

from __future__ import annotations

import importlib.util
import json
import math
import os
import sys

import pytest

from hanstack.answer import ABSTAIN_MESSAGE, Answerer, Passage
from hanstack.answer.likelihood import QueryLikelihood, likelihood_answerable, relative_gain
from hanstack.config import AnswerSettings, load_settings
from hanstack.errors import InvalidInputError, ModelNotFoundError, ModelUnavailableError
from tests.answer.test_answerer import ScriptedBackend
from tests.conftest import REPO, tiny_model_settings

os.environ.setdefault("HANSTACK_MODELS_CACHE", str(REPO / ".models"))

RESULTS = REPO / "bench" / "results" / "answers_likelihood.json"
QUESTION = "대통령의 임기는 몇 년인가요?"
OFF_TOPIC = "비트코인의 현재 시세는 얼마인가요?"


def _with_answer(settings, **answer):
    cfg = settings.answer.model_copy(update=answer)
    return settings.model_copy(update={"answer": cfg})


def _bench_answers():
    """bench/answers.py as a module (its top level only defines things; stdlib imports)."""
    spec = importlib.util.spec_from_file_location("bench_answers_for_tests", REPO / "bench" / "answers.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(spec.name, module)
    spec.loader.exec_module(module)
    return module


def _large_tier() -> dict:
    return json.loads(RESULTS.read_text(encoding="utf-8"))["tiers"]["large"]


# --- the rule is the bench's --------------------------------------------------------------------------
def test_relative_gain_is_the_bench_feature_on_every_recorded_query() -> None:
    bench_feature = _bench_answers().LIKELIHOOD_NORMALISED["relative_gain"]
    records = [rec[c] for rec in _large_tier()["per_query"].values() for c in ("answerable", "unanswerable")]
    assert len(records) == 228
    for rec in records:
        assert relative_gain(rec["gains"], rec["baseline"]) == bench_feature(rec)
    one = _large_tier()["per_query"]["0_finance"]["answerable"]
    assert relative_gain(one["gains"], one["baseline"]) == pytest.approx(1.87228 / 2.97195)
    assert relative_gain([0.5, 2.0], -0.01) == pytest.approx(20.0)  # surprise floored at 0.1 nats
    assert relative_gain([0.5, 0.1, 0.2, 9.0], -2.0) == pytest.approx(0.25)  # top 3 only
    assert relative_gain([], -2.0) == -math.inf


def test_default_settings_reproduce_the_measured_rule_and_rates() -> None:
    tier = _large_tier()
    measured = tier["variants"]["relative_gain"]["alone"]
    cfg = AnswerSettings()
    assert cfg.answerability == "gate"  # opt-in
    assert cfg.likelihood_tier == "large" and tier["model"].startswith("qwen2.5-coder-1.5b")
    assert cfg.likelihood_threshold == measured["threshold"] == 0.3036
    assert cfg.likelihood_window_tokens == tier["window_tokens"] == 192
    assert cfg.likelihood_passages == 3
    assert tier["selected_on_fit_half"]["variant"] == "relative_gain"
    assert tier["selected_on_fit_half"]["form"] == "alone"
    for half in ("fit", "held_out"):
        recs = [r for r in tier["per_query"].values() if r["half"] == half]
        abstains = {
            c: [
                not likelihood_answerable(
                    r[c]["gains"],
                    r[c]["baseline"],
                    threshold=cfg.likelihood_threshold,
                    passages=cfg.likelihood_passages,
                )[1]
                for r in recs
            ]
            for c in ("answerable", "unanswerable")
        }
        assert round(sum(abstains["unanswerable"]) / len(recs), 4) == measured[half]["abstain_unans"]
        assert round(sum(abstains["answerable"]) / len(recs), 4) == measured[half]["false_abstain"]
    assert (measured["held_out"]["abstain_unans"], measured["held_out"]["false_abstain"]) == (0.6667, 0.0526)


# --- without a model that gives logits ------------------------------------------------------------------
@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    return load_settings(tmp_path_factory.mktemp("answerability-ws"))


@pytest.fixture(scope="module")
def passages(constitution) -> list[Passage]:
    return [
        Passage.from_chunk(constitution.article(n), score=1.0 / (i + 1)) for i, n in enumerate([70, 67, 42])
    ]


def _answerer(settings, kiwi, embedder, backends=None, asked=None, **kw) -> Answerer:
    backends = backends or {}

    def factory(name: str):
        if asked is not None:
            asked.append(name)
        if name == "extractive":
            from hanstack.llm.extractive import ExtractiveBackend

            return ExtractiveBackend()
        if name.startswith("no-such"):
            raise ModelNotFoundError(f"unknown model {name!r}")
        if name not in backends:
            raise ModelUnavailableError(f"model {name!r} is not pulled", hint=f"hanstack models pull {name}")
        return backends[name]

    return Answerer(
        settings, analyzer=kiwi, embedder=embedder, backend_factory=factory, trust_hook=None, **kw
    )


def test_default_is_the_gate_and_nothing_is_scored(settings, kiwi, embedder, passages, monkeypatch) -> None:
    def no_scoring(*a, **k):
        raise AssertionError("query likelihood must not run by default")

    monkeypatch.setattr(QueryLikelihood, "score", no_scoring)
    asked: list[str] = []
    answerer = _answerer(settings, kiwi, embedder, asked=asked)
    assert answerer.answerability == "gate"
    answer = answerer.answer_from_passages(QUESTION, passages, model="extractive")
    assert not answer.abstained and asked == ["extractive"]  # the likelihood tier was never loaded
    check = answer.answerability
    assert check is not None and (check.requested, check.method) == ("gate", "gate")
    assert check.answerable and check.threshold == 0.5 and check.score == check.gate_probability >= 0.5
    assert check.fallback_reason is None and check.gains == [] and check.model is None

    refused = answerer.answer_from_passages(OFF_TOPIC, passages, model="extractive")
    assert refused.abstained and refused.abstain_reason
    assert refused.abstain_reason.startswith("검색된 문서가 질문과 관련이 없습니다 (질문 용어 포함률")
    assert refused.answerability is not None and not refused.answerability.answerable
    assert asked == ["extractive"]  # the gate refused before any model


def test_unknown_answerability_is_rejected(settings, kiwi, embedder, passages) -> None:
    with pytest.raises(InvalidInputError, match="answerability"):
        _answerer(settings, kiwi, embedder, answerability="reader")
    with pytest.raises(InvalidInputError, match="answerability"):
        _answerer(settings, kiwi, embedder).answer_from_passages(QUESTION, passages, answerability="nli")


@pytest.mark.parametrize(
    ("tier", "backends", "why"),
    [
        ("extractive", {}, "does not expose next-token logits"),
        ("large", {}, "is not pulled"),
        ("remote", {"remote": ScriptedBackend("remote-model", [], tier="large")}, "does not expose"),
    ],
)
def test_scorer_without_logits_falls_back_to_the_gate_and_says_so(
    settings, kiwi, embedder, passages, tier, backends, why
) -> None:
    cfg = _with_answer(settings, answerability="likelihood", likelihood_tier=tier)
    answerer = _answerer(cfg, kiwi, embedder, backends)
    assert answerer.answerability == "likelihood"
    answer = answerer.answer_from_passages(QUESTION, passages, model="extractive")
    check = answer.answerability
    assert check is not None and (check.requested, check.method) == ("likelihood", "gate")
    assert check.fallback_reason and why in check.fallback_reason
    assert check.fallback_reason.startswith("질의 가능도 검사를 쓸 수 없어 게이트로 판단했습니다")
    assert check.tier == tier and check.answerable and not answer.abstained  # the gate passed

    refused = answerer.answer_from_passages(OFF_TOPIC, passages, model="extractive")
    assert refused.abstained and refused.answerability is not None
    assert refused.answerability.method == "gate" and not refused.answerability.answerable
    reason = refused.abstain_reason or ""
    assert "질의 가능도 검사를 쓸 수 없어" in reason and "검색된 문서가 질문과 관련이 없습니다" in reason


def test_no_passages_abstain_without_scoring(settings, kiwi, embedder) -> None:
    cfg = _with_answer(settings, answerability="likelihood", likelihood_tier="no-such-tier")  # never loaded
    answer = _answerer(cfg, kiwi, embedder).answer_from_passages(QUESTION, [], model="extractive")
    assert answer.abstained and answer.abstain_reason == "검색 결과가 없습니다"
    check = answer.answerability
    assert check is not None and check.method == "gate" and not check.answerable
    assert check.fallback_reason and "no passages" in check.fallback_reason


def test_misspelt_likelihood_tier_is_an_error(settings, kiwi, embedder, passages) -> None:
    cfg = _with_answer(settings, answerability="likelihood", likelihood_tier="no-such-tier")
    with pytest.raises(ModelNotFoundError):
        _answerer(cfg, kiwi, embedder).answer_from_passages(QUESTION, passages, model="extractive")


# --- with a model that gives logits (tiny-test GGUF, llama.cpp) ------------------------------------------
@pytest.fixture(scope="module")
def tiny_settings(tmp_path_factory):
    base = tiny_model_settings(tmp_path_factory.mktemp("answerability-model-ws"))
    return _with_answer(base, answerability="likelihood", likelihood_tier="tiny-test")


@pytest.mark.model
def test_likelihood_check_runs_with_the_bench_scorer_and_is_recorded(
    tiny_settings, kiwi, embedder, passages
) -> None:
    from hanstack.llm import get_backend

    answerer = Answerer(tiny_settings, analyzer=kiwi, embedder=embedder, trust_hook=None)
    answer = answerer.answer_from_passages(QUESTION, passages, model="extractive")
    check = answer.answerability
    assert check is not None and (check.requested, check.method) == ("likelihood", "likelihood")
    assert check.fallback_reason is None and check.tier == "tiny-test" and check.model
    assert check.threshold == 0.3036 and check.window_tokens == 192 and check.passages == 3
    assert len(check.gains) == 3 and check.baseline is not None and check.baseline < 0.0
    assert check.score == pytest.approx(relative_gain(check.gains, check.baseline), abs=1e-4)
    assert check.answerable == (check.score >= check.threshold)
    assert check.seconds > 0.0 and check.gate_probability is not None and check.gate_probability >= 0.5
    if not check.answerable:  # whatever the tiny model scores, the decision is applied
        assert answer.abstained and (answer.abstain_reason or "").startswith("검색된 문서에 질문의 답이")

    # the same numbers as the bench's scorer on the same passages (same class, window, prompts)
    terms = list(dict.fromkeys(kiwi.search_terms(QUESTION)))
    direct = QueryLikelihood(get_backend(tiny_settings, "tiny-test"), max_sources=3, window_tokens=192)
    ref = direct.score(QUESTION, passages, terms)
    assert check.baseline == pytest.approx(ref.baseline, abs=0.05)
    assert check.gains == pytest.approx(list(ref.gains), abs=0.05)

    # the CLI's --json shows it (the Answer's JSON)
    dumped = answer.model_dump(mode="json")["answerability"]
    assert dumped["method"] == "likelihood" and dumped["gains"] == check.gains


@pytest.mark.model
def test_threshold_decides_instead_of_the_gate(tiny_settings, kiwi, embedder, passages) -> None:
    fast = _with_answer(
        tiny_settings, likelihood_passages=1, likelihood_window_tokens=96
    )  # 2 prompts a check
    high = Answerer(
        _with_answer(fast, likelihood_threshold=1e6),
        analyzer=kiwi,
        embedder=embedder,
        trust_hook=None,
    )
    refused = high.answer_from_passages(QUESTION, passages, model="extractive")  # the gate passes this one
    assert refused.abstained and refused.text.startswith(ABSTAIN_MESSAGE)
    assert refused.answerability is not None and refused.answerability.method == "likelihood"
    assert not refused.answerability.answerable and refused.answerability.gate_probability >= 0.5
    reason = refused.abstain_reason or ""
    assert reason.startswith("검색된 문서에 질문의 답이 없는 것으로 보입니다 (질의 가능도 검사")
    assert "< 기준 1e+06" in reason and "상대 이득" in reason and "문서 1개" in reason
    assert refused.claims == [] and [s.id for s in refused.sources] == ["S1", "S2", "S3"]

    low = Answerer(
        _with_answer(fast, likelihood_threshold=-1e6),
        analyzer=kiwi,
        embedder=embedder,
        trust_hook=None,
    )
    answered = low.answer_from_passages(QUESTION, passages, model="extractive")
    assert not answered.abstained and answered.claims
    assert answered.answerability is not None and answered.answerability.answerable

    # a question the gate refuses goes on to drafting when query likelihood says so
    off = low.answer_from_passages(OFF_TOPIC, passages, model="extractive")
    assert off.answerability is not None and off.answerability.method == "likelihood"
    assert off.answerability.answerable and (off.answerability.gate_probability or 0.0) < 0.5
    assert not (off.abstain_reason or "").startswith("검색된 문서")  # not refused before drafting


def test_bench_row_cache_resumes_and_survives_a_row_cut_short(tmp_path, monkeypatch, capsys) -> None:
    """bench/answers.py's answer-row cache: rows come back under their fingerprint only, and half a
    row left by a killed run is cut off (not glued to the next row, not a crash)."""
    bench = _bench_answers()
    monkeypatch.setattr(bench, "CACHE", tmp_path)
    done, remember = bench._row_cache("small", "fp1")
    assert done == {}
    remember({"qid": "q1", "condition": "answerable", "abstained": True})
    remember({"qid": "q1", "condition": "unanswerable", "abstained": True})
    path = tmp_path / "answers_small.jsonl"
    with path.open("a", encoding="utf-8") as fh:
        fh.write('{"key": "fp1:q2:answerable", "fingerprint": "fp1", "row": {"qid": "q2", "cond')
    done, remember = bench._row_cache("small", "fp1")
    assert set(done) == {("q1", "answerable"), ("q1", "unanswerable")}
    assert "unfinished last row" in capsys.readouterr().out
    remember({"qid": "q2", "condition": "answerable", "abstained": False})
    assert set(bench._row_cache("small", "fp1")[0]) == {
        ("q1", "answerable"),
        ("q1", "unanswerable"),
        ("q2", "answerable"),
    }
    assert bench._row_cache("small", "fp2")[0] == {}  # other code or thresholds: nothing reused


# --- the stop-17 pre-registered keyword-reference test (bench/answers.py) ------------------------------
def _keyword_feats(keyword_gain) -> tuple[dict, set, set]:
    """Twenty questions (ten per half), baseline −3 nats per token; question i's topic words raise it by
    ``keyword_gain(i)``, its answering page by 0.8 more, the best sibling page by 0.1 more."""
    feats, fit_q, rep_q = {}, set(), set()
    for i in range(20):
        qid, kw = f"q{i}", keyword_gain(i % 10)
        (fit_q if i < 10 else rep_q).add(qid)
        for cond, extra in (("answerable", 0.8), ("unanswerable", 0.1)):
            feats[qid, cond] = {"gains": [kw + extra, kw - 0.2, 0.0], "baseline": -3.0, "keywords": kw}
    return feats, fit_q, rep_q


def test_keyword_reference_test_switches_only_when_it_beats_relative_gain_both_ways() -> None:
    bench = _bench_answers()
    # topic levels that vary across questions: the share of the whole surprise (relative_gain) mixes
    # them up, the share left after the topic words does not
    feats, fit_q, rep_q = _keyword_feats(lambda i: 0.2 * i)
    out = bench._keywords_test(feats, fit_q | rep_q, fit_q, rep_q, 0.1)
    assert out["over_keywords"]["fit_on_fit_half"]["held_out"] == {
        "queries": 10,
        "false_abstain": 0.0,
        "abstain_unans": 1.0,
    }
    assert out["relative_gain"]["fit_on_fit_half"]["held_out"]["abstain_unans"] == 0.5
    assert out["criteria"] == {"held_out": True, "swapped_halves": True}
    assert out["decision"].startswith("switch") and out["issue_target_met"]
    # topic words that raise nothing: the two features are the same number, so nothing switches
    feats, fit_q, rep_q = _keyword_feats(lambda i: 0.0)
    out = bench._keywords_test(feats, fit_q | rep_q, fit_q, rep_q, 0.1)
    assert out["criteria"] == {"held_out": False, "swapped_halves": False}
    assert out["decision"].startswith("keep")
    # a question whose keyword prompt was not scored is left out of both features' rates
    feats[("q0", "answerable")]["keywords"] = None
    assert bench._keywords_test(feats, fit_q | rep_q, fit_q, rep_q, 0.1)["fit_half"] == 9


def test_keyword_passage_is_the_questions_topic_words() -> None:
    assert _bench_answers().keyword_passage(["대통령", "임기", "무엇", "대통령"]) == "대통령, 임기"
