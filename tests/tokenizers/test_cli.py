"""``hanstack tokens list|count|stats|train`` through the real CLI entry point (Typer)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hanstack.cli import app, main
from tests.tokenizers.conftest import SENTENCE


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = 0
    try:
        main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_list_shows_presets_with_source_and_size(workspace, capsys) -> None:
    code, out, _ = run(capsys, "tokens", "list", "--json")
    assert code == 0
    presets = {p["name"]: p for p in json.loads(out)}
    assert presets["gpt-4o"]["vocab_size"] == 200_019 and presets["gpt-4o"]["fast"]
    assert "sdist" in presets["gemma-3"]["source"]
    code, out, _ = run(capsys, "tokens", "list")
    assert code == 0 and "qwen-3.5" in out


def test_count_file_and_stdin_with_typer_runner(workspace, tmp_path: Path) -> None:
    runner = CliRunner()
    path = tmp_path / "a.txt"
    path.write_text(SENTENCE, encoding="utf-8")
    result = runner.invoke(app, ["tokens", "count", "-t", "gpt-4o,gpt-4", "--json", str(path)])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert [(r["tokenizer"], r["tokens"]) for r in rows] == [("gpt-4o", 25), ("gpt-4", 51)]
    result = runner.invoke(app, ["tokens", "count", "-t", "qwen-2.5", "-"], input=SENTENCE)
    assert result.exit_code == 0 and "29 tokens (qwen-2.5)" in result.output


def test_count_cp949_file(workspace, tmp_path: Path, capsys) -> None:
    path = tmp_path / "legacy.txt"
    path.write_bytes(SENTENCE.encode("cp949"))
    code, out, _ = run(capsys, "tokens", "count", "-t", "gpt-4o", "--json", str(path))
    assert code == 0 and json.loads(out)["tokens"] == 25


def test_stats_json_csv_chart(workspace, tmp_path: Path, capsys) -> None:
    ko = tmp_path / "ko.txt"
    en = tmp_path / "en.txt"
    ko.write_text("가 나\n다\n", encoding="utf-8")
    en.write_text("a b\nc\n", encoding="utf-8")
    code, out, err = run(
        capsys,
        "tokens",
        "stats",
        "-c",
        str(ko),
        "--parallel",
        str(en),
        "-t",
        "utf8-bytes,gpt-4o",
        "--no-morphemes",
        "--json",
        "--csv",
        str(tmp_path / "s.csv"),
        "--chart",
        str(tmp_path / "s.png"),
    )
    assert code == 0, err
    data = json.loads(out)
    assert data["corpus"]["sentences"] == 2
    assert data["tokenizers"][0]["premium"] == pytest.approx(2.5)
    assert (tmp_path / "s.csv").read_text(encoding="utf-8").startswith("name,")
    assert (tmp_path / "s.png").stat().st_size > 1000


def test_stats_table_with_morphemes(workspace, tmp_path: Path, capsys) -> None:
    ko = tmp_path / "ko.jsonl"
    ko.write_text(json.dumps({"review": "국민의 권리"}, ensure_ascii=False) + "\n", encoding="utf-8")
    code, out, _ = run(capsys, "tokens", "stats", "-c", str(ko), "-t", "gpt-4o")
    assert code == 0 and "gpt-4o" in out and "morphemes" in out


def test_train_and_compare_on_heldout(workspace, tmp_path: Path, capsys) -> None:
    corpus = tmp_path / "train.txt"
    corpus.write_text(
        "\n".join(["모든 국민은 법 앞에 평등하다.", "이 영화 정말 재밌어요!"] * 50), encoding="utf-8"
    )
    held = tmp_path / "held.txt"
    held.write_text("모든 국민은 평등하다.\n", encoding="utf-8")
    out_dir = tmp_path / "tok"
    code, out, err = run(
        capsys,
        "tokens",
        "train",
        "-c",
        str(corpus),
        "-n",
        "400",
        "-o",
        str(out_dir),
        "--heldout",
        str(held),
        "--compare",
        "gpt-4o",
        "--json",
    )
    assert code == 0, err
    data = json.loads(out)
    assert Path(data["result"]["path"]) == out_dir / "tokenizer.json"
    [comp] = data["heldout"]
    assert {r["tokenizer"] for r in comp["rows"]} == {str(out_dir / "tokenizer.json"), "gpt-4o"}
    code, out, _ = run(capsys, "tokens", "count", "-t", str(out_dir / "tokenizer.json"), str(held))
    assert code == 0 and "tokens" in out


@pytest.mark.parametrize(
    ("args", "exit_code", "message"),
    [
        (["tokens", "count", "-t", "nope", "-"], 3, "unknown tokenizer 'nope'"),
        (["tokens", "count", "-t", "gpt-4o", "/no/such/file.txt"], 3, "does not exist"),
        (["tokens", "stats", "-c", "/no/such/dir"], 3, "does not exist"),
        (["tokens", "train", "-c", "-", "-n", "5"], 2, "out of range"),
    ],
)
def test_bad_input_exit_codes_and_messages(workspace, capsys, monkeypatch, args, exit_code, message) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("가나다\n"))
    code, _, err = run(capsys, *args)
    assert code == exit_code and message in err


def test_stats_mismatched_parallel_is_explained(workspace, tmp_path: Path, capsys) -> None:
    ko = tmp_path / "ko.txt"
    en = tmp_path / "en.txt"
    ko.write_text("가\n나\n", encoding="utf-8")
    en.write_text("a\n", encoding="utf-8")
    code, _, err = run(capsys, "tokens", "stats", "-c", str(ko), "--parallel", str(en), "--no-morphemes")
    assert code == 2 and "1 lines but the Korean corpus has 2" in err and "sentence-aligned" in err
