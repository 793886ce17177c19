"""Guard benchmark: Korean PII, prompt injection, tool-policy speed. Results in bench/results/guard.*

    .venv/bin/python bench/guard.py            # everything (~25 min on 2 cores; names=crf-e5 is ~15 of them)
    .venv/bin/python bench/guard.py --quick    # smaller KLUE slice, no Kiwi-everywhere run, no crf-e5
    .venv/bin/python bench/guard.py --no-presidio
    .venv/bin/python bench/guard.py --sections klue --klue-modes crf-e5   # one names mode, other rows kept
    .venv/bin/python bench/guard.py --sections klue --klue-modes crf-e5 --klue-resume DIR --klue-budget-s 480
        # the same in pieces of ~8 min: exit code 3 means "stopped at the budget, rerun to continue"
        # (set OPENBLAS_NUM_THREADS=1 on a busy machine: crf-e5 runs ~10x slower with spinning threads)
    .venv/bin/python bench/guard.py --sections klue --klue-half even --names-model-dir DIR \
        --klue-resume DIR2 --klue-budget-s 480
        # the reverse fold (notes/guard.md): crf-e5 trained on the odd half into DIR
        # (python -m hanstack.guard.pii.name_crf --e5 --half odd --out DIR/person_name_crf_e5.crfsuite)
        # scored on the even half; writes bench/results/guard_klue_reverse.* with the pooled 2-fold
        # figure (odd-half counts read from bench/results/guard.json), never bench/results/guard.*

PII
- ``pii/korean_pii_pypi``: its 80 regression cases (type, text, expected detected?) scored per type as
  case-level precision/recall/F1 (a case counts when its type is or is not found in the text), plus the
  false positives on its negative corpus ``fixtures/corpus_ko.txt``.
- ``pii/presidio_kr``: the parametrised cases of Presidio's five Korean recognizer tests, scored as exact
  spans of the tested entity type.
- Presidio side by side: the same cases through Presidio's pattern recognizers (its five Korean ones,
  loaded from ``pii/presidio_kr``, plus e-mail, credit card, IP and phone number with region KR),
  called directly (``recognizer.analyze(text, entities, nlp_artifacts=None)``; no spaCy model, so no
  context enhancement; any score counts, as in Presidio's own tests). Presidio runs in its own venv,
  ``.hanstack/venv-presidio``, created on first use (presidio-analyzer is not a hanstack dependency).
- KLUE-NER dev, the 2,500 odd-indexed sentences (the person-name model is trained on the even-indexed
  ones): PS spans against PERSON and LC spans against ADDRESS, exact-span and overlap precision/recall,
  for each person-name mode (``crf`` and ``crf-e5`` are trained on the even-indexed half only).
  ``--klue-half even --names-model-dir DIR``: the even half instead, with ``crf``/``crf-e5`` models
  trained on the odd half (the reverse fold), reported apart in ``guard_klue_reverse.*``.

Injection (held out)
- attacks: the 50 ``jailbreaking`` rows of ``guardrail/llm-red-teaming-dataset-kr.jsonl``; two models are
  trained, one on the odd-numbered rows and one on the even-numbered rows (plus synthetic attacks and
  benign training text, see ``hanstack.guard.injection.train``); each row is scored by the model that
  did not see it.
- benign: 3i4k ``fci_test.txt`` (all 6,121 rows) and the ChatbotData questions whose row index is a
  multiple of 5 (2,365 rows); neither was used in training or for choosing the operating point.
- the same held-out rows after evasion tricks (spacing, jamo split, zero-width, full-width, base64).

Speed: PII scan MB/s on Korean text (KLUE + NSMC sentences with PII sprinkled in), injection check p50 on
500-character prompts, tool-policy decision p50.
"""

from __future__ import annotations

import argparse
import ast
import base64
import importlib.util
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import REPO, SHARED, require, write_results
from hanstack.guard.injection import InjectionConfig, InjectionDetector
from hanstack.guard.injection import train as inj_train
from hanstack.guard.pii import PiiConfig, PiiEngine
from hanstack.guard.pii.name_crf import klue_half
from hanstack.guard.tools import ToolPolicy

PII_DIR = SHARED / "pii"
KPII_TYPES = {
    "rrn": {"RRN", "FRN"},
    "phone": {"PHONE"},
    "card": {"CARD"},
    "driver_license": {"DRIVER_LICENSE"},
    "passport": {"PASSPORT"},
    "account": {"BANK_ACCOUNT"},
    "email": {"EMAIL"},
    "api_key": {"API_KEY"},
}
PRESIDIO_ENTITIES = {
    "KR_RRN": "RRN",
    "KR_FRN": "FRN",
    "KR_BRN": "BRN",
    "KR_PASSPORT": "PASSPORT",
    "KR_DRIVER_LICENSE": "DRIVER_LICENSE",
    "EMAIL_ADDRESS": "EMAIL",
    "CREDIT_CARD": "CARD",
    "IP_ADDRESS": "IP_ADDRESS",
    "PHONE_NUMBER": "PHONE",
}
PRESIDIO_VENV = REPO / ".hanstack" / "venv-presidio"


def prf(tp: int, fp: int, fn: int) -> dict[str, float | int]:
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4)}


# --- data ----------------------------------------------------------------------------------------
def kpii_cases() -> list[tuple[str, str, bool, str]]:
    path = require(PII_DIR / "korean_pii_pypi" / "tests" / "benchmark_cases.py")
    spec = importlib.util.spec_from_file_location("kpii_cases", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return list(mod.CASES)


def presidio_cases() -> list[dict[str, Any]]:
    """(entity, text, expected spans) from the parametrize tables and extra tests of presidio_kr."""
    out = []
    for path in sorted(require(PII_DIR / "presidio_kr").glob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        entity = next(
            n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and n.value in PRESIDIO_ENTITIES
        )
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "parametrize":
                for elt in node.args[1].elts:  # type: ignore[attr-defined]
                    row = ast.literal_eval(elt)
                    out.append(
                        {
                            "file": path.name,
                            "entity": PRESIDIO_ENTITIES[entity],
                            "presidio_entity": entity,
                            "text": row[0],
                            "spans": [list(s) for s in row[2]],
                        }
                    )
    # the passport file's three extra tests, transcribed
    extra = [("Korean passport number: M123A4567", [[24, 33]]), ("대한민국 여권번호: M456B7890", [[11, 20]])]
    extra += [(t, []) for t in ("This is just text", "A123B4567", "M12A4567", "M123456789", "123A4567")]
    for text, spans in extra:
        out.append(
            {
                "file": "test_kr_passport_recognizer.py (extra)",
                "entity": "PASSPORT",
                "presidio_entity": "KR_PASSPORT",
                "text": text,
                "spans": spans,
            }
        )
    return out


def klue_sentences(limit: int | None = None) -> list[tuple[str, list[tuple[str, int, int]]]]:
    """KLUE-NER dev through the same parser the name model was trained with."""
    from hanstack.guard.pii.name_model import klue_sentences as parse

    return parse(require(SHARED / "nlu" / "klue-ner-v1.1_dev.tsv"))[:limit]


# --- Presidio in its own venv --------------------------------------------------------------------
PRESIDIO_RUNNER = r"""
import importlib.util, json, sys
from pathlib import Path
from presidio_analyzer.predefined_recognizers import CreditCardRecognizer, EmailRecognizer, IpRecognizer, PhoneRecognizer
d = Path(sys.argv[1])
def load(name, cls):
    spec = importlib.util.spec_from_file_location(name, d / f"{name}.py")
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)
    return getattr(mod, cls)()
recs = [load("kr_rrn_recognizer", "KrRrnRecognizer"), load("kr_frn_recognizer", "KrFrnRecognizer"),
        load("kr_brn_recognizer", "KrBrnRecognizer"), load("kr_passport_recognizer", "KrPassportRecognizer"),
        load("kr_driver_license_recognizer", "KrDriverLicenseRecognizer"),
        EmailRecognizer(), CreditCardRecognizer(), IpRecognizer(), PhoneRecognizer(supported_regions=("KR",))]
texts = json.load(sys.stdin)
out = []
for t in texts:
    found = []
    for r in recs:
        for res in r.analyze(t, r.supported_entities, None):
            if res.score > 0:
                found.append([res.entity_type, res.start, res.end, res.score])
    out.append(found)
import presidio_analyzer
json.dump({"version": getattr(presidio_analyzer, "__version__", None), "results": out}, sys.stdout)
"""


def presidio_venv() -> Path | None:
    py = PRESIDIO_VENV / "bin" / "python"
    if not py.exists():
        print("creating", PRESIDIO_VENV, "with presidio-analyzer (one time)", file=sys.stderr)
        try:
            subprocess.run([sys.executable, "-m", "venv", str(PRESIDIO_VENV)], check=True)
            subprocess.run([str(py), "-m", "pip", "install", "-q", "presidio-analyzer"], check=True)
        except subprocess.CalledProcessError as exc:
            print("presidio-analyzer could not be installed:", exc, file=sys.stderr)
            return None
    return py


def run_presidio(texts: list[str]) -> tuple[list[list[tuple[str, int, int, float]]], str | None] | None:
    py = presidio_venv()
    if py is None:
        return None
    proc = subprocess.run(
        [str(py), "-c", PRESIDIO_RUNNER, str(PII_DIR / "presidio_kr")],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        print("presidio run failed:", proc.stderr[-2000:], file=sys.stderr)
        return None
    data = json.loads(proc.stdout)
    results = [
        [(PRESIDIO_ENTITIES.get(e, e), s, t, sc) for e, s, t, sc in found] for found in data["results"]
    ]
    return results, data.get("version")


# --- PII sections ----------------------------------------------------------------------------------
def bench_kpii(engine: PiiEngine, presidio: list[list[tuple[str, int, int, float]]] | None) -> dict[str, Any]:
    cases = kpii_cases()
    counts: dict[str, dict[str, Counter[str]]] = {
        "hanstack": defaultdict(Counter),
        "presidio": defaultdict(Counter),
    }
    disagreements = []
    for i, (typ, text, expected, note) in enumerate(cases):
        systems = {"hanstack": {e.type for e in engine.scan(text)}}
        if presidio is not None:
            systems["presidio"] = {e for e, *_ in presidio[i]}
        for name, found in systems.items():
            if name == "presidio" and typ in ("account", "api_key"):
                continue  # Presidio has no recognizer for these
            hit = bool(found & KPII_TYPES[typ])
            key = ("tp" if expected else "fp") if hit else ("fn" if expected else "tn")
            counts[name][typ][key] += 1
            if name == "hanstack" and hit != expected:
                disagreements.append({"type": typ, "expected": expected, "note": note})
    out: dict[str, Any] = {"cases": len(cases), "disagreements": disagreements}
    for name, per in counts.items():
        if not per:
            continue
        out[name] = {t: prf(c["tp"], c["fp"], c["fn"]) for t, c in sorted(per.items())}
        tot = Counter[str]()
        for c in per.values():
            tot.update(c)
        out[name]["micro"] = prf(tot["tp"], tot["fp"], tot["fn"])
    corpus = (PII_DIR / "korean_pii_pypi" / "tests" / "fixtures" / "corpus_ko.txt").read_text(
        encoding="utf-8"
    )
    out["negative_corpus_false_positives"] = [{"type": e.type, "text": e.text} for e in engine.scan(corpus)]
    return out


def bench_presidio_cases(
    engine: PiiEngine, presidio: list[list[tuple[str, int, int, float]]] | None
) -> dict[str, Any]:
    cases = presidio_cases()
    per: dict[str, dict[str, Counter[str]]] = {
        "hanstack": defaultdict(Counter),
        "presidio": defaultdict(Counter),
    }
    misses = []
    for i, case in enumerate(cases):
        gold = {tuple(s) for s in case["spans"]}
        ent = case["entity"]
        systems = {"hanstack": {(e.start, e.end) for e in engine.scan(case["text"]) if e.type == ent}}
        if presidio is not None:
            systems["presidio"] = {(s, t) for e, s, t, _ in presidio[i] if e == ent}
        for name, pred in systems.items():
            c = per[name][ent]
            c["tp"] += len(gold & pred)
            c["fp"] += len(pred - gold)
            c["fn"] += len(gold - pred)
            if name == "hanstack" and pred != gold:
                misses.append(
                    {"entity": ent, "text": case["text"], "expected": sorted(gold), "got": sorted(pred)}
                )
    out: dict[str, Any] = {"cases": len(cases), "hanstack_mismatches": misses}
    for name, d in per.items():
        if not d:
            continue
        out[name] = {t: prf(c["tp"], c["fp"], c["fn"]) for t, c in sorted(d.items())}
        tot = Counter[str]()
        for c in d.values():
            tot.update(c)
        out[name]["micro"] = prf(tot["tp"], tot["fp"], tot["fn"])
    return out


def _model_fingerprint(model_dir: Path | None = None) -> str:
    """Hash of the shipped guard model files (and of ``model_dir``'s files when given): a resume
    cache made with other models is not reused."""
    import hashlib

    h = hashlib.sha256()
    import hanstack

    dirs = [Path(hanstack.__file__).parent / "data" / "guard"]
    for d in dirs + ([model_dir] if model_dir is not None else []):
        for f in sorted(d.glob("*")):
            if f.is_file():
                h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()[:16]


class Unfinished(Exception):
    """The resumable KLUE run stopped at its time budget; rerun the same command to continue."""


def _scan_resumable(
    engine: PiiEngine,
    mode: str,
    sents: list[Any],
    resume: Path | None,
    budget_s: float | None,
    head_extra: dict[str, Any] | None = None,
) -> tuple[list[list[tuple[str, int, int]]], float]:
    """Found (type, start, end) per sentence and the seconds spent scanning. With ``resume`` each
    sentence's result is appended to ``resume/klue_<mode>.jsonl`` (first line: the models' fingerprint
    and the sentence count) and a rerun continues from there; ``budget_s`` stops a piece after that
    many seconds (:class:`Unfinished`), so a long mode can run as several short CPU-heavy pieces.
    ``head_extra``: more fields of that first line (the half and the model directory's fingerprint
    of a reverse-fold run), so a cache of another split or model is not reused."""
    done: list[list[tuple[str, int, int]]] = []
    spent = 0.0
    log = None
    if resume is not None:
        resume.mkdir(parents=True, exist_ok=True)
        path = resume / f"klue_{mode}.jsonl"
        head = {"fingerprint": _model_fingerprint(), "sentences": len(sents), **(head_extra or {})}
        if path.exists():
            lines = path.read_text(encoding="utf-8").splitlines()
            if lines and json.loads(lines[0]) == head:
                for line in lines[1:]:
                    row = json.loads(line)
                    done.append([tuple(x) for x in row["found"]])
                    spent += row["s"]
            else:
                done, spent = [], 0.0
                path.write_text(json.dumps(head) + "\n", encoding="utf-8")
        else:
            path.write_text(json.dumps(head) + "\n", encoding="utf-8")
        log = path.open("a", encoding="utf-8")
    t_start = time.perf_counter()
    try:
        for text, _ in sents[len(done) :]:
            if budget_s is not None and time.perf_counter() - t_start > budget_s:
                raise Unfinished(f"{mode}: {len(done)}/{len(sents)} sentences scanned")
            t0 = time.perf_counter()
            found = [(e.type, e.start, e.end) for e in engine.scan(text)]
            dt = time.perf_counter() - t0
            spent += dt
            done.append(found)
            if log is not None:
                log.write(json.dumps({"found": found, "s": round(dt, 5)}) + "\n")
                log.flush()
    finally:
        if log is not None:
            log.close()
    return done, spent


def bench_klue(
    modes: list[str],
    limit: int | None,
    resume: Path | None = None,
    budget_s: float | None = None,
    half: str = "odd",
    model_dir: Path | None = None,
) -> dict[str, Any]:
    # by default the odd-indexed sentences only: the name models were trained on the even-indexed
    # ones; the reverse fold scores the even half with models trained on the odd one (model_dir)
    sents = klue_half(klue_sentences(), half)[:limit]
    split = "odd-indexed sentences (held out from the name model and the name CRF)"
    head_extra: dict[str, Any] = {}
    if half != "odd" or model_dir is not None:
        split = (
            f"{half}-indexed sentences (held out from the models in {model_dir}; the shipped models' "
            "training half)"
        )
        head_extra = {
            "half": half,
            "model_dir": str(model_dir),
            "model_dir_fingerprint": _model_fingerprint(model_dir),
        }
    out: dict[str, Any] = {"sentences": len(sents), "split": split}
    for mode in modes:
        engine = PiiEngine(PiiConfig(names=mode, types=("PERSON", "ADDRESS"), names_model_dir=model_dir))  # type: ignore[arg-type]
        engine.scan("워밍업 홍길동 님")
        c: dict[str, Counter[str]] = {"PS": Counter(), "LC": Counter()}
        all_found, elapsed = _scan_resumable(engine, mode, sents, resume, budget_s, head_extra)
        for (_text, ents), found in zip(sents, all_found, strict=True):
            for tag, typ in (("PS", "PERSON"), ("LC", "ADDRESS")):
                gold = {(a, b) for t, a, b in ents if t == tag}
                pred = {(a, b) for t, a, b in found if t == typ}
                c[tag]["tp"] += len(gold & pred)
                c[tag]["fp"] += len(pred - gold)
                c[tag]["fn"] += len(gold - pred)
                c[tag]["otp_pred"] += sum(any(a < gb and ga < b for ga, gb in gold) for a, b in pred)
                c[tag]["otp_gold"] += sum(any(a < pb and pa < b for pa, pb in pred) for a, b in gold)
                c[tag]["n_pred"] += len(pred)
                c[tag]["n_gold"] += len(gold)
        res: dict[str, Any] = {"seconds": round(elapsed, 2)}
        for tag in ("PS", "LC"):
            k = c[tag]
            exact = prf(k["tp"], k["fp"], k["fn"])
            op = k["otp_pred"] / k["n_pred"] if k["n_pred"] else 1.0
            orr = k["otp_gold"] / k["n_gold"] if k["n_gold"] else 1.0
            res[tag] = {
                "exact": exact,
                "overlap": {"precision": round(op, 4), "recall": round(orr, 4)},
                "gold": k["n_gold"],
                "predicted": k["n_pred"],
            }
        out[mode] = res
    return out


# --- injection -------------------------------------------------------------------------------------
def _jamo_split(text: str) -> str:
    cho = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
    jung = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
    jong = ["", *"ㄱㄲㄳㄴㄵㄶㄷㄹㄺㄻㄼㄽㄾㄿㅀㅁㅂㅄㅅㅆㅇㅈㅊㅋㅌㅍㅎ"]
    out = []
    for ch in text:
        code = ord(ch) - 0xAC00
        if 0 <= code < 11172:
            out += [cho[code // 588], jung[(code % 588) // 28], jong[code % 28]]
        else:
            out.append(ch)
    return "".join(out)


TRICKS = {
    "spacing": lambda t: " ".join(t.replace(" ", "")),
    "jamo": _jamo_split,
    "zero-width": lambda t: "\u200b".join(t),
    "full-width": lambda t: "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in t),
    "base64": lambda t: base64.b64encode(t.encode()).decode(),
}


def bench_injection(work: Path) -> dict[str, Any]:
    from hanstack.guard.injection.classifier import NgramClassifier

    models = {}
    t0 = time.perf_counter()
    for fold in ("odd", "even"):
        path = work / f"injection_{fold}.json.gz"
        if not path.exists():
            inj_train.train(SHARED, fold).save(path)
        models[fold] = NgramClassifier.load(path)
    train_s = time.perf_counter() - t0
    rows = inj_train.jailbreak_rows(SHARED, "all")
    benign_3i4k = inj_train.three_i4k(SHARED, "test")
    benign_chat = inj_train.chatbot_questions(SHARED, "test")
    others = [
        r for r in inj_train.redteam_rows(SHARED) if inj_train.JAILBREAK_TOPIC not in (r.get("topic") or [])
    ]
    detectors = {
        fold: {
            "rules": InjectionDetector(InjectionConfig(use_classifier=False)),
            "rules+classifier": InjectionDetector(InjectionConfig(), classifier=models[fold]),
        }
        for fold in models
    }
    out: dict[str, Any] = {
        "protocol": "2-fold by row number (odd/even) over the 50 jailbreaking rows; each row scored by the model "
        "trained without it; benign = 3i4k fci_test + ChatbotData Q rows with index % 5 == 0",
        "attack_rows": len(rows),
        "benign_rows": {"3i4k_test": len(benign_3i4k), "chatbot_test": len(benign_chat)},
        "train_seconds": round(train_s, 1),
        "train_rows": {
            "odd": [r["id"] for r in rows if inj_train.row_number(r) % 2 == 1],
            "even": [r["id"] for r in rows if inj_train.row_number(r) % 2 == 0],
        },
        "thresholds": {f: m.threshold for f, m in models.items()},
    }
    points = []
    for level in sorted(models["odd"].meta.get("thresholds_by_calibration_fpr", {}), key=float):
        dets = {
            f: InjectionDetector(
                InjectionConfig(),
                classifier=m.with_strict_threshold(float(m.meta["thresholds_by_calibration_fpr"][level])),
            )
            for f, m in models.items()
        }
        tp = sum(
            dets["even" if inj_train.row_number(r) % 2 == 1 else "odd"].check(r["query"]).is_attack
            for r in rows
        )
        fp = statistics.mean(
            sum(d.check(t).is_attack for t in benign_3i4k + benign_chat) for d in dets.values()
        )
        points.append(
            {
                "calibration_fpr": float(level),
                "tpr": round(tp / len(rows), 4),
                "fpr": round(fp / (len(benign_3i4k) + len(benign_chat)), 5),
            }
        )
    out["operating_points"] = points
    for system in ("rules", "rules+classifier"):
        hits, missed = 0, []
        trick_hits: Counter[str] = Counter()
        for r in rows:
            held_out_model = "even" if inj_train.row_number(r) % 2 == 1 else "odd"
            det = detectors[held_out_model][system]
            if det.check(r["query"]).is_attack:
                hits += 1
            else:
                missed.append(r["query"])
            for name, fn in TRICKS.items():
                trick_hits[name] += det.check(fn(r["query"])).is_attack
        fp = {"3i4k_test": [], "chatbot_test": []}
        for name, texts in (("3i4k_test", benign_3i4k), ("chatbot_test", benign_chat)):
            for fold in ("odd", "even"):
                det = detectors[fold][system]
                fp[name].append([t for t in texts if det.check(t).is_attack])
        n_benign = len(benign_3i4k) + len(benign_chat)
        fpr_by_fold = {
            fold: (len(fp["3i4k_test"][i]) + len(fp["chatbot_test"][i])) / n_benign
            for i, fold in enumerate(("odd", "even"))
        }
        other_flag = Counter[str]()
        other_n = Counter[str]()
        for r in others:
            topic = (r.get("topic") or ["?"])[0]
            other_n[topic] += 1
            other_flag[topic] += detectors["odd"][system].check(r["query"]).is_attack
        out[system] = {
            "tpr": round(hits / len(rows), 4),
            "missed": missed,
            "fpr": round(statistics.mean(fpr_by_fold.values()), 5),
            "fpr_by_model": fpr_by_fold,
            "fpr_3i4k": round(statistics.mean(len(x) for x in fp["3i4k_test"]) / len(benign_3i4k), 5),
            "fpr_chatbot": round(statistics.mean(len(x) for x in fp["chatbot_test"]) / len(benign_chat), 5),
            "false_positive_examples": fp["3i4k_test"][0][:8] + fp["chatbot_test"][0][:8],
            "tpr_under_evasion": {k: round(v / len(rows), 4) for k, v in trick_hits.items()},
            "other_redteam_topics_flagged": {k: f"{other_flag[k]}/{other_n[k]}" for k in sorted(other_n)},
        }
    return out


# --- speed -------------------------------------------------------------------------------------------
def speed_text(target_bytes: int) -> str:
    """Korean text: KLUE sentences with PII sprinkled in (one identifier every ~10 sentences)."""
    rng = random.Random(3)
    sents = [t for t, _ in klue_sentences()]
    pii = [
        "연락처 010-2345-6789",
        "주민번호 900101-1234567",
        "카드 4111-1111-1111-1111",
        "hong@example.com",
        "김민수 과장님",
        "서울특별시 강남구 테헤란로 152",
        "신한은행 110-234-567890",
    ]
    parts, size = [], 0
    while size < target_bytes:
        s = rng.choice(sents)
        if rng.random() < 0.1:
            s = s + " " + rng.choice(pii)
        parts.append(s)
        size += len(s.encode()) + 1
    return "\n".join(parts)


def bench_speed(quick: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    text = speed_text(1_000_000 if quick else 2_000_000)
    for mode in ("rules", "auto", "crf", "crf-e5"):
        # crf (Kiwi + CRF on every sentence) is ~50x slower: timed on the first ~165 KB only;
        # crf-e5 (+ a 12-layer encoder per sentence) on the first ~20 KB
        cut = {"crf": 70_000, "crf-e5": 7_000}.get(mode)
        sample = text if cut is None else text[: text.find("\n", cut)]
        nb = len(sample.encode())
        engine = PiiEngine(PiiConfig(names=mode))  # type: ignore[arg-type]
        engine.scan("트럼프 대통령과 김민수 과장님")  # loads Kiwi (and the CRF) too, so loading is not timed
        t0 = time.perf_counter()
        n = len(engine.scan(sample))
        dt = time.perf_counter() - t0
        mbs = nb / dt / 1e6
        out[f"pii_scan_{mode}"] = {"mb_per_s": round(mbs, 3 if mbs >= 0.1 else 5), "bytes": nb, "entities": n}
    det = InjectionDetector()
    det.check("warm up")
    base = " ".join(inj_train.chatbot_questions(SHARED, "test"))
    prompts = [base[i : i + 500] for i in range(0, len(base) - 500, 500)][:400]
    assert all(len(p) == 500 for p in prompts)
    times = []
    for p in prompts:
        t0 = time.perf_counter()
        det.check(p)
        times.append(time.perf_counter() - t0)
    out["injection_check_500_chars"] = {
        "p50_ms": round(statistics.median(times) * 1e3, 3),
        "p95_ms": round(sorted(times)[int(len(times) * 0.95)] * 1e3, 3),
        "n": len(times),
    }
    policy = ToolPolicy.load(REPO / "tests" / "guard" / "policies" / "enterprise.yaml")
    calls = [
        ("acme", "analyst", "erp.get_order", {"id": 1}),
        (
            "acme",
            "analyst",
            "finance.transfer",
            {"amount": 5000, "currency": "KRW", "account": "123-45-678901"},
        ),
        ("acme", "intern", "mes.stop", {}),
        ("x", "operator", "scada.read_temp", {}),
    ]
    times = []
    for i in range(20000):
        c = calls[i % len(calls)]
        t0 = time.perf_counter()
        policy.decide(*c, record=False)
        times.append(time.perf_counter() - t0)
    out["tool_policy_decision"] = {
        "p50_ms": round(statistics.median(times) * 1e3, 5),
        "p95_ms": round(sorted(times)[int(len(times) * 0.95)] * 1e3, 5),
        "n": len(times),
    }
    return out


# --- report ------------------------------------------------------------------------------------------
def markdown(r: dict[str, Any]) -> str:
    lines = [
        "## PII: korean_pii_pypi regression cases (case-level)",
        "",
        "| type | hanstack P | R | F1 | Presidio P | R | F1 |",
        "|---|---|---|---|---|---|---|",
    ]
    k = r["pii_korean_pii_pypi"]
    for t in [*KPII_TYPES, "micro"]:
        h = k["hanstack"].get(t)
        p = k.get("presidio", {}).get(t)
        hp = f"{h['precision']:.3f} | {h['recall']:.3f} | {h['f1']:.3f}" if h else "– | – | –"
        pp = f"{p['precision']:.3f} | {p['recall']:.3f} | {p['f1']:.3f}" if p else "n/a | | "
        lines.append(f"| {t} | {hp} | {pp} |")
    lines += [
        "",
        f"Negative corpus false positives (hanstack): {len(k['negative_corpus_false_positives'])}",
        "",
        "Cases where hanstack disagrees with the expectation:",
        "",
    ]
    lines += [
        f"- {d['type']}: expected {'detected' if d['expected'] else 'not detected'} — {d['note']}"
        for d in k["disagreements"]
    ] or ["- none"]
    p = r["pii_presidio_kr"]
    lines += [
        "",
        "## PII: Presidio's Korean test cases (exact spans)",
        "",
        "| entity | hanstack P | R | F1 | Presidio P | R | F1 |",
        "|---|---|---|---|---|---|---|",
    ]
    for t in [*sorted(k2 for k2 in p["hanstack"] if k2 != "micro"), "micro"]:
        h = p["hanstack"][t]
        q = p.get("presidio", {}).get(t)
        qp = f"{q['precision']:.3f} | {q['recall']:.3f} | {q['f1']:.3f}" if q else "– | – | –"
        lines.append(f"| {t} | {h['precision']:.3f} | {h['recall']:.3f} | {h['f1']:.3f} | {qp} |")
    lines += ["", "hanstack mismatches:", ""]
    lines += [
        f"- {m['entity']} `{m['text']}` expected {m['expected']} got {m['got']}"
        for m in p["hanstack_mismatches"]
    ] or ["- none"]
    s = r["structured_identifiers"]
    lines += [
        "",
        f"**Structured identifiers, micro-F1 over both sets (hanstack): {s['hanstack']['f1']:.3f}** "
        f"(TP {s['hanstack']['tp']}, FP {s['hanstack']['fp']}, FN {s['hanstack']['fn']})",
    ]
    if "presidio" in s:
        lines.append(f"Presidio on the types it covers: F1 {s['presidio']['f1']:.3f}")
    kl = r["klue_ner"]
    lines += [
        "",
        f"## KLUE-NER dev ({kl['sentences']} {kl['split']}): PS → PERSON, LC → ADDRESS",
        "",
        "| mode | PS P | PS R | PS F1 | PS overlap P/R | LC P | LC R | seconds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for mode, v in kl.items():
        if not isinstance(v, dict):
            continue
        ps, lc = v["PS"], v["LC"]
        lines.append(
            f"| {mode} | {ps['exact']['precision']:.3f} | {ps['exact']['recall']:.3f} | {ps['exact']['f1']:.3f} | "
            f"{ps['overlap']['precision']:.3f}/{ps['overlap']['recall']:.3f} | {lc['exact']['precision']:.3f} | "
            f"{lc['exact']['recall']:.3f} | {v['seconds']} |"
        )
    inj = r["injection"]
    lines += [
        "",
        "## Prompt injection (held out)",
        "",
        inj["protocol"],
        "",
        "| system | TPR | FPR (all benign) | FPR 3i4k | FPR chatbot | spacing | jamo | zero-width | full-width | base64 |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for system in ("rules", "rules+classifier"):
        v = inj[system]
        ev = v["tpr_under_evasion"]
        lines.append(
            f"| {system} | {v['tpr']:.3f} | {v['fpr']:.4f} | {v['fpr_3i4k']:.4f} | {v['fpr_chatbot']:.4f} | "
            f"{ev['spacing']:.2f} | {ev['jamo']:.2f} | {ev['zero-width']:.2f} | {ev['full-width']:.2f} | {ev['base64']:.2f} |"
        )
    lines += [
        "",
        'Classifier operating points ("attack on its own" at this FPR on the benign calibration slice '
        "of the training data; the shipped default is 0.005):",
        "",
        "| calibration FPR | TPR | FPR |",
        "|---|---|---|",
    ]
    lines += [
        f"| {p['calibration_fpr']} | {p['tpr']:.3f} | {p['fpr']:.4f} |" for p in inj["operating_points"]
    ]
    lines += [
        "",
        f"Missed (rules+classifier): {inj['rules+classifier']['missed']}",
        f"Other red-team topics flagged as injection (rules+classifier, informational): "
        f"{inj['rules+classifier']['other_redteam_topics_flagged']}",
    ]
    sp = r["speed"]
    lines += [
        "",
        "## Speed",
        "",
        f"- PII scan, names=rules: {sp['pii_scan_rules']['mb_per_s']} MB/s; names=auto: {sp['pii_scan_auto']['mb_per_s']} MB/s "
        f"({sp['pii_scan_rules']['bytes']:,} bytes of Korean text)"
        + (
            f"; names=crf: {sp['pii_scan_crf']['mb_per_s']} MB/s ({sp['pii_scan_crf']['bytes']:,} bytes)"
            if "pii_scan_crf" in sp
            else ""
        )
        + (
            f"; names=crf-e5: {sp['pii_scan_crf-e5']['mb_per_s'] * 1000:.1f} KB/s "
            f"({sp['pii_scan_crf-e5']['bytes']:,} bytes)"
            if "pii_scan_crf-e5" in sp
            else ""
        ),
        f"- injection check, 500 chars: p50 {sp['injection_check_500_chars']['p50_ms']} ms, "
        f"p95 {sp['injection_check_500_chars']['p95_ms']} ms",
        f"- tool-policy decision: p50 {sp['tool_policy_decision']['p50_ms']} ms, p95 {sp['tool_policy_decision']['p95_ms']} ms",
    ]
    lines += _runs_md(r, "Runs (each section's own command, date and load average)")
    return "\n".join(lines)


SECTIONS = ("pii", "klue", "injection", "speed")
TARGET = 0.85  # the person-name target: P >= 0.85 and R >= 0.85 (exact PS spans)


def pooled_2fold(even: dict[str, int], odd: dict[str, int]) -> dict[str, Any]:
    """Exact-span counts of both halves summed, with one binomial standard error of P and R and
    the pre-registered decision rule of notes/guard.md (pooled P >= 0.85 and R >= 0.85, unrounded)."""
    tp, fp, fn = (even[k] + odd[k] for k in ("tp", "fp", "fn"))
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return {
        **prf(tp, fp, fn),
        "se_precision": round((p * (1 - p) / (tp + fp)) ** 0.5, 4) if tp + fp else 0.0,
        "se_recall": round((r * (1 - r) / (tp + fn)) ** 0.5, 4) if tp + fn else 0.0,
        "gold": tp + fn,
        "target_met": p >= TARGET and r >= TARGET,
    }


def reverse_markdown(r: dict[str, Any]) -> str:
    kl, pool, odd = r["klue_ner"], r["pooled_2fold"], r["odd_half_shipped"]
    lines = [
        f"## KLUE-NER dev, reverse fold ({kl['sentences']} {kl['split']}): PS → PERSON, LC → ADDRESS",
        "",
        r["protocol"],
        "",
        "| mode | PS P | PS R | PS F1 | TP | FP | FN | PS overlap P/R | LC P | LC R | seconds |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for mode, v in kl.items():
        if not isinstance(v, dict):
            continue
        ps, lc = v["PS"], v["LC"]
        e = ps["exact"]
        lines.append(
            f"| {mode} | {e['precision']:.4f} | {e['recall']:.4f} | {e['f1']:.4f} | {e['tp']} | {e['fp']} | "
            f"{e['fn']} | {ps['overlap']['precision']:.3f}/{ps['overlap']['recall']:.3f} | "
            f"{lc['exact']['precision']:.3f} | {lc['exact']['recall']:.3f} | {v['seconds']} |"
        )
    oe = odd["exact"]
    lines += [
        "",
        f"## Pooled 2-fold, `{r['pooled_mode']}`, exact PS spans over all 5,000 sentences",
        "",
        "| half scored | model (trained on) | TP | FP | FN | P | R | F1 |",
        "|---|---|---|---|---|---|---|---|",
        f"| odd | shipped (even half); {odd['source']} | {oe['tp']} | {oe['fp']} | {oe['fn']} | "
        f"{oe['precision']:.4f} | {oe['recall']:.4f} | {oe['f1']:.4f} |",
    ]
    e = kl[r["pooled_mode"]]["PS"]["exact"]
    lines += [
        f"| even | reverse fold (odd half) | {e['tp']} | {e['fp']} | {e['fn']} | {e['precision']:.4f} | "
        f"{e['recall']:.4f} | {e['f1']:.4f} |",
        f"| **pooled** | | **{pool['tp']}** | **{pool['fp']}** | **{pool['fn']}** | "
        f"**{pool['precision']:.4f}** (± {pool['se_precision']:.4f}) | **{pool['recall']:.4f}** "
        f"(± {pool['se_recall']:.4f}) | {pool['f1']:.4f} |",
        "",
        f"± one binomial standard error ({pool['gold']} gold spans for recall). Pre-registered decision "
        f"rule (notes/guard.md): target met if pooled P >= {TARGET} and R >= {TARGET} → "
        f"**{'met' if pool['target_met'] else 'not met'}**.",
        "",
        r["caveat"],
    ]
    lines += _runs_md(r, "Runs (command, date and load average)")
    return "\n".join(lines)


def run_record(command: str, t0: float, load0: tuple[float, float, float]) -> dict[str, Any]:
    """One section's entry of ``results["runs"]``: its command, end date, seconds since ``t0`` and
    the load average at the start (``load0``) and now."""
    return {
        "command": command,
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": round(time.perf_counter() - t0, 1),
        "loadavg_start": [round(x, 2) for x in load0],
        "loadavg_end": [round(x, 2) for x in os.getloadavg()],
    }


def _runs_md(r: dict[str, Any], title: str) -> list[str]:
    """The "Runs" section: each section's command, date and load average (:func:`run_record`)."""
    runs = r.get("runs", {})
    if not runs:
        return []
    return ["", f"## {title}", ""] + [
        f"- {k}: `{v['command']}` at {v['date']}, {v['seconds']} s, load average "
        f"{v['loadavg_start']} → {v['loadavg_end']}"
        for k, v in runs.items()
    ]


def reverse_fold(args: argparse.Namespace, modes: list[str]) -> None:
    """``--klue-half even``: score the even half with the reverse-fold models in ``--names-model-dir``
    and pool with the shipped model's odd-half counts; writes ``guard_klue_reverse.*`` only."""
    t0, load0 = time.perf_counter(), os.getloadavg()
    previous = json.loads((REPO / "bench" / "results" / "guard.json").read_text(encoding="utf-8"))
    try:
        klue = bench_klue(modes, None, args.klue_resume, args.klue_budget_s, "even", args.names_model_dir)
    except Unfinished as exc:
        print(f"stopped at the time budget ({exc}); rerun the same command to continue", file=sys.stderr)
        sys.exit(3)
    pooled_mode = "crf-e5" if "crf-e5" in modes else modes[0]
    odd = previous["klue_ner"][pooled_mode]["PS"]
    odd_run = previous.get("runs", {}).get("klue", {})
    cmd = (
        f"python bench/guard.py --sections klue --klue-half even --names-model-dir {args.names_model_dir} "
        f"--klue-modes {','.join(modes)}"
        + (
            f" --klue-resume DIR --klue-budget-s {args.klue_budget_s} (run in pieces)"
            if args.klue_resume is not None
            else ""
        )
    )
    results: dict[str, Any] = {
        "protocol": "Reverse fold, pre-registered in notes/guard.md before any run: the crf-e5 pipeline "
        "unchanged (code, settings, thresholds) trained on the 2,500 odd-indexed KLUE-NER dev sentences "
        "(python -m hanstack.guard.pii.name_crf --e5 --half odd), scored once on the 2,500 even-indexed "
        "ones through the engine (exact PS spans, this bench's scoring code).",
        "caveat": "Caveat written before the run: the even half is the half every design choice was made "
        "on (inner splits), so its figure may be optimistic. The shipped model stays the even-trained "
        "one, and its odd-half figure stays reported as the held-out one.",
        "klue_ner": klue,
        "pooled_mode": pooled_mode,
        "odd_half_shipped": {
            "source": f"bench/results/guard.json klue_ner/{pooled_mode}, run of {odd_run.get('date', '?')}",
            "exact": odd["exact"],
            "overlap": odd["overlap"],
        },
        "pooled_2fold": pooled_2fold(klue[pooled_mode]["PS"]["exact"], odd["exact"]),
        "runs": {"klue": run_record(cmd, t0, load0)},
    }
    path = write_results(
        "guard_klue_reverse",
        cmd,
        results,
        reverse_markdown(results),
        packages=("kiwipiepy", "numpy", "python-crfsuite"),
    )
    print(reverse_markdown(results))
    print(f"\nwrote {path}", file=sys.stderr)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--quick", action="store_true", help="1,000 KLUE sentences, no names=kiwi run, 1 MB speed text"
    )
    ap.add_argument("--no-presidio", action="store_true", help="skip the Presidio side-by-side run")
    ap.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help="comma-separated subset of pii,klue,injection,speed; the other sections are kept from the "
        "previous bench/results/guard.json (run speed under hs-quiet, the rest under hs-heavy)",
    )
    ap.add_argument(
        "--klue-modes",
        default=None,
        help="comma-separated names modes for the klue section (default rules,auto,kiwi,crf,crf-e5); "
        "the other modes' rows are kept from the previous bench/results/guard.json",
    )
    ap.add_argument(
        "--klue-resume",
        type=Path,
        default=None,
        help="directory for per-sentence KLUE results: a rerun continues where the last one stopped "
        "(made with the same model files)",
    )
    ap.add_argument(
        "--klue-budget-s",
        type=float,
        default=None,
        help="with --klue-resume: stop the KLUE section after this many seconds (exit code 3, nothing "
        "written to bench/results) so a long mode runs as several short pieces",
    )
    ap.add_argument(
        "--klue-half",
        choices=("odd", "even"),
        default="odd",
        help="which KLUE-NER dev sentences to score (default odd: held out from the shipped models); "
        "even is the reverse fold: needs --names-model-dir with models trained on the odd half, --sections "
        "klue and crf/crf-e5 modes only, and writes bench/results/guard_klue_reverse.*",
    )
    ap.add_argument(
        "--names-model-dir",
        type=Path,
        default=None,
        help="directory of crf/crf-e5 model files to score with instead of the shipped ones "
        "(--klue-half even only)",
    )
    args = ap.parse_args()
    sections = [x for x in args.sections.split(",") if x]
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        ap.error(f"unknown section(s) {unknown}; choose from {SECTIONS}")
    if args.names_model_dir is not None and args.klue_half != "even":
        ap.error(
            "--names-model-dir is for the reverse fold (--klue-half even); the odd half is scored with the shipped models"
        )
    if args.klue_half == "even":
        if args.names_model_dir is None:
            ap.error(
                "--klue-half even needs --names-model-dir: the shipped models were trained on the even half"
            )
        if sections != ["klue"] or args.quick:
            ap.error("--klue-half even runs the klue section alone (--sections klue, no --quick)")
        modes = [m for m in (args.klue_modes or "crf-e5").split(",") if m]
        if not set(modes) <= {"crf", "crf-e5"}:
            ap.error(
                "--klue-half even scores crf/crf-e5 only (the other modes' models were trained on the even half)"
            )
        reverse_fold(args, modes)
        return
    work = REPO / ".hanstack" / "bench-guard"
    work.mkdir(parents=True, exist_ok=True)
    engine = PiiEngine(PiiConfig(names="rules"))
    previous = REPO / "bench" / "results" / "guard.json"
    results: dict[str, Any] = {}
    if set(sections) != set(SECTIONS) and previous.exists():
        old = json.loads(previous.read_text(encoding="utf-8"))
        results = {k: v for k, v in old.items() if k not in ("command", "machine")}
    results.setdefault("runs", {})

    def stamp(section: str, t0: float, load0: tuple[float, float, float]) -> None:
        results["runs"][section] = run_record(
            "python bench/guard.py --sections "
            + section
            + (" --quick" if args.quick else "")
            + (" --no-presidio" if args.no_presidio else ""),
            t0,
            load0,
        )

    if "pii" in sections:
        t0, load0 = time.perf_counter(), os.getloadavg()
        kcases = kpii_cases()
        pcases = presidio_cases()
        presidio = (
            None if args.no_presidio else run_presidio([c[1] for c in kcases] + [c["text"] for c in pcases])
        )
        pk = pp = None
        if presidio is not None:
            found, version = presidio
            pk, pp = found[: len(kcases)], found[len(kcases) :]
            results["presidio_version"] = version
        print("PII cases ...", file=sys.stderr)
        results["pii_korean_pii_pypi"] = bench_kpii(engine, pk)
        results["pii_presidio_kr"] = bench_presidio_cases(engine, pp)
        structured: dict[str, Any] = {}
        for name in ("hanstack", "presidio"):
            a = results["pii_korean_pii_pypi"].get(name, {}).get("micro")
            b = results["pii_presidio_kr"].get(name, {}).get("micro")
            if a and b:
                structured[name] = prf(a["tp"] + b["tp"], a["fp"] + b["fp"], a["fn"] + b["fn"])
        results["structured_identifiers"] = structured
        stamp("pii", t0, load0)
    if "klue" in sections:
        t0, load0 = time.perf_counter(), os.getloadavg()
        print("KLUE-NER ...", file=sys.stderr)
        modes = ["rules", "auto", "crf"] if args.quick else ["rules", "auto", "kiwi", "crf", "crf-e5"]
        if args.klue_modes:
            modes = [m for m in args.klue_modes.split(",") if m]
        try:
            klue = bench_klue(modes, 1000 if args.quick else None, args.klue_resume, args.klue_budget_s)
        except Unfinished as exc:
            print(f"stopped at the time budget ({exc}); rerun the same command to continue", file=sys.stderr)
            sys.exit(3)
        if args.klue_modes:  # keep the rows of the modes not rerun (same split, same code for them)
            klue = {**results.get("klue_ner", {}), **klue}
        results["klue_ner"] = klue
        stamp("klue", t0, load0)
        if args.klue_modes:
            results["runs"]["klue"]["command"] += " --klue-modes " + ",".join(modes)
        if args.klue_resume is not None:  # seconds above: the last piece only; per-mode seconds: all
            results["runs"]["klue"]["command"] += (
                f" --klue-resume DIR --klue-budget-s {args.klue_budget_s} (run in pieces)"
            )
    if "injection" in sections:
        t0, load0 = time.perf_counter(), os.getloadavg()
        print("injection ...", file=sys.stderr)
        results["injection"] = bench_injection(work)
        stamp("injection", t0, load0)
    if "speed" in sections:
        t0, load0 = time.perf_counter(), os.getloadavg()
        print("speed ...", file=sys.stderr)
        results["speed"] = bench_speed(args.quick)
        stamp("speed", t0, load0)
    cmd = (
        "python bench/guard.py"
        + (" --quick" if args.quick else "")
        + (" --no-presidio" if args.no_presidio else "")
        + ("" if set(sections) == set(SECTIONS) else " --sections " + ",".join(sections))
    )
    path = write_results(
        "guard", cmd, results, markdown(results), packages=("kiwipiepy", "numpy", "python-crfsuite")
    )
    print(markdown(results))
    print(f"\nwrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
