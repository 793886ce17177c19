"""Side by side: two runs of ``bench/answers.py --steps answers`` on the same queries (code A vs B).

    python bench/answers_ab.py BEFORE.json AFTER.json --name answers_reanchor \
        --label-a "3e6db16 (quote window)" --label-b "6503f30 (re-anchored evidence)"

Both files are ``answers.json`` written by bench/answers.py (each run in its own checkout, at the
same time on the same machine, so that load affects both alike). Per model present in both with the
same queries: the summary figures of A and B, and every (query, condition) whose outcome changed
(abstained or not, and the final answer text), with whether B cites the gold passage and its F1.
Writes bench/results/<name>.{md,json}.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import write_results
from answers import _f

FIGURES = (
    "n",
    "cit_precision",
    "cit_recall",
    "f1",
    "rougeL",
    "f1_answered",
    "abstain_unans",
    "false_abstain",
    "claims_supported",
    "unsupported_final",
    "p50_s",
    "p95_s",
)


def compare(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Per model in both runs: the two summaries and the rows whose outcome changed."""
    out: dict[str, Any] = {}
    for model in sorted(set(a.get("models", {})) & set(b.get("models", {}))):
        ma, mb = a["models"][model], b["models"][model]
        if ma["queries"] != mb["queries"]:
            raise SystemExit(
                f"{model}: the two runs asked different queries; compare runs with the same limit and seed"
            )
        rows_a = {(r["qid"], r["condition"]): r for r in ma["rows"]}
        changed = []
        for rb in mb["rows"]:
            ra = rows_a[(rb["qid"], rb["condition"])]
            if (ra["abstained"], ra["answer"]) != (rb["abstained"], rb["answer"]):
                changed.append(
                    {
                        "qid": rb["qid"],
                        "condition": rb["condition"],
                        "a": ra["answer"] if not ra["abstained"] else None,
                        "b": rb["answer"] if not rb["abstained"] else None,
                        "b_cites_gold": rb["cites_gold"],
                        "b_f1": round(rb["f1"], 3),
                    }
                )
        out[model] = {
            "queries": len(ma["queries"]),
            "a": {k: a["summary"][model].get(k) for k in FIGURES},
            "b": {k: b["summary"][model].get(k) for k in FIGURES},
            "changed": changed,
            "commands": [ma.get("command"), mb.get("command")],
        }
    return out


def markdown(result: dict[str, Any], label_a: str, label_b: str, dates: tuple[str, str]) -> str:
    lines = [f"A = {label_a} (run of {dates[0]}); B = {label_b} (run of {dates[1]}).", ""]
    for model, r in result.items():
        lines += [f"## {model} ({r['queries']} queries × answerable + gold removed)", ""]
        lines += ["| figure | A | B |", "|---|---|---|"]
        lines += [f"| {k} | {_f(r['a'][k])} | {_f(r['b'][k])} |" for k in FIGURES]
        lines += ["", f"Outcomes that changed ({len(r['changed'])}):", ""]
        for c in r["changed"]:
            a = (c["a"] or "(abstained)").replace("\n", " ")
            b = (c["b"] or "(abstained)").replace("\n", " ")
            lines.append(
                f"- `{c['qid']}` {c['condition']}: A {a[:160]} → B {b[:400]} "
                f"(B cites gold: {c['b_cites_gold']}, F1 {c['b_f1']})"
            )
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a", type=Path)
    ap.add_argument("b", type=Path)
    ap.add_argument("--name", required=True, help="result file name under bench/results/")
    ap.add_argument("--label-a", default="A")
    ap.add_argument("--label-b", default="B")
    args = ap.parse_args()
    a = json.loads(args.a.read_text(encoding="utf-8"))
    b = json.loads(args.b.read_text(encoding="utf-8"))
    result = compare(a, b)
    dates = (a.get("machine", {}).get("date", "?"), b.get("machine", {}).get("date", "?"))
    payload = {"a": {"label": args.label_a, "date": dates[0]}, "b": {"label": args.label_b, "date": dates[1]}}
    md = markdown(result, args.label_a, args.label_b, dates)
    command = "python bench/answers_ab.py " + " ".join(sys.argv[1:])
    write_results(args.name, command, {**payload, "models": result}, md)
    print(md)


if __name__ == "__main__":
    main()
