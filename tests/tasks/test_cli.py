from __future__ import annotations

import json
from pathlib import Path

import pytest

from hanstack.cli import main


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = 0
    try:
        main(list(args))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_models_list_json(workspace, capsys) -> None:
    code, out, _ = run(capsys, "models", "list", "--json")
    assert code == 0
    data = json.loads(out)
    tiers = {m["tier"]: m for m in data["models"] if m["tier"]}
    assert set(tiers) == {"tiny-test", "small", "large"}
    assert tiers["small"]["sha256"] and tiers["small"]["license"] == "Apache-2.0"


def test_unknown_model_exit_code_and_hint(workspace, capsys) -> None:
    code, _, err = run(capsys, "models", "info", "nope-model")
    assert code == 3 and "unknown model" in err and "small" in err


def test_missing_model_hint(workspace, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HANSTACK_MODELS_CACHE", raising=False)
    code, _, err = run(capsys, "classify", "--labels", "a,b", "--model", "large", "텍스트")
    assert code != 0 and "hanstack models pull large" in err


def test_register_endpoint_and_list(workspace, capsys) -> None:
    code, _, _ = run(
        capsys,
        "models",
        "register",
        "my-vllm",
        "--endpoint",
        "http://127.0.0.1:8009/v1",
        "--server-model",
        "q",
    )
    assert code == 0
    _, out, _ = run(capsys, "models", "list", "--json")
    assert json.loads(out)["endpoints"][0]["name"] == "my-vllm"
    code, _, err = run(capsys, "models", "register", "x")
    assert code == 2 and "exactly one" in err


def test_triage_cli_json_keeps_korean(workspace, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.llm.fakes import ScriptedBackend

    reply = {
        "intent": "이중 청구 환불 요청",
        "message_type": "request",
        "category": "billing",
        "urgency": "medium",
        "sentiment": "negative",
        "summary": "요금이 두 번 청구되어 환불을 원함",
        "requested_actions": ["환불"],
        "needs_human": False,
    }
    be = ScriptedBackend("small-test", "small", [json.dumps(reply)])  # ASCII-escaped JSON from the "model"
    monkeypatch.setattr("hanstack.llm.get_backend", lambda settings, model=None: be)
    code, out, err = run(capsys, "triage", "--json", "요금이 두 번 청구됐어요. 환불해 주세요.")
    assert code == 0, err
    assert "\\u" not in out and "환불" in out
    assert json.loads(out)["result"] == reply
    code, _, err = run(capsys, "triage", "--no-escalate", "요금이 두 번 청구됐어요.")  # the script is used up
    assert code == 1 and "no valid output" in err


@pytest.mark.model
def test_classify_cli_on_tiny(workspace, capsys, tiny_model_path: Path) -> None:
    code, out, err = run(
        capsys, "classify", "--model", "tiny-test", "--labels", "칭찬,불만", "--json", "최고예요"
    )
    assert code == 0, err
    assert json.loads(out)["result"]["label"] in ("칭찬", "불만")


@pytest.mark.model
def test_extract_cli_with_schema_file(workspace, capsys, tmp_path: Path, tiny_model_path: Path) -> None:
    schema = tmp_path / "s.json"
    schema.write_text(
        json.dumps(
            {
                "type": "object",
                "properties": {"이름": {"type": "string", "maxLength": 10}},
                "required": ["이름"],
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    doc = tmp_path / "doc.txt"
    doc.write_text("신청인 이름: 홍길동", encoding="utf-8")
    code, out, err = run(
        capsys,
        "extract",
        "--schema",
        str(schema),
        "--model",
        "tiny-test",
        "--no-escalate",
        "--json",
        str(doc),
    )
    assert code == 0, err
    assert isinstance(json.loads(out)["result"]["이름"], str)


@pytest.mark.model
def test_chat_one_shot_json(workspace, capsys, tiny_model_path: Path) -> None:
    code, out, err = run(
        capsys, "chat", "--model", "tiny-test", "--message", "안녕하세요", "--max-tokens", "8", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["completion_tokens"] > 0
