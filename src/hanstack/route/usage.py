"""Token usage and cost: a price table per model, and per-tenant totals.

Prices are USD per million tokens (input, output). Local models default to a nominal internal
charge-back price so that usage reports are meaningful; the workspace file ``prices.toml`` overrides
or adds entries::

    [models."small"]
    input_per_mtok = 0.05
    output_per_mtok = 0.10

A model missing from the table costs 0 and is reported as ``priced: false``.
"""

from __future__ import annotations

import threading
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hanstack.errors import ConfigError

DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "tiny-test": (0.01, 0.02),
    "small": (0.05, 0.10),
    "large": (0.10, 0.20),
    "extractive": (0.0, 0.0),
    "e5-small": (0.005, 0.0),
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
}


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    priced: bool = True

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "total_tokens": self.total_tokens}


class PriceTable:
    def __init__(self, prices: dict[str, tuple[float, float]] | None = None) -> None:
        self.prices = dict(DEFAULT_PRICES if prices is None else prices)

    @classmethod
    def load(cls, path: Path | None) -> PriceTable:
        table = cls()
        if path is None or not path.is_file():
            return table
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(
                f"cannot read price table {path}: {exc}", hint="fix or delete the file"
            ) from exc
        for name, entry in (data.get("models") or {}).items():
            try:
                table.prices[name] = (
                    float(entry["input_per_mtok"]),
                    float(entry.get("output_per_mtok", 0.0)),
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise ConfigError(
                    f"price entry {name!r} in {path} needs input_per_mtok (and output_per_mtok)"
                ) from exc
        return table

    def usage(self, model: str, prompt_tokens: int, completion_tokens: int) -> Usage:
        price = self.prices.get(model)
        if price is None:
            return Usage(prompt_tokens, completion_tokens, 0.0, priced=False)
        cost = (prompt_tokens * price[0] + completion_tokens * price[1]) / 1_000_000
        return Usage(prompt_tokens, completion_tokens, round(cost, 10))


@dataclass
class TenantTotals:
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    cache_hits: int = 0


class UsageLedger:
    """Per-tenant running totals (seeded from the audit log at start-up)."""

    def __init__(self) -> None:
        self._totals: dict[str, TenantTotals] = {}
        self._lock = threading.Lock()

    def add(self, tenant: str, usage: Usage, *, cache_hit: bool = False) -> None:
        with self._lock:
            t = self._totals.setdefault(tenant, TenantTotals())
            t.requests += 1
            t.prompt_tokens += usage.prompt_tokens
            t.completion_tokens += usage.completion_tokens
            t.cost_usd += usage.cost_usd
            t.cache_hits += int(cache_hit)

    def totals(self, tenant: str) -> TenantTotals:
        with self._lock:
            t = self._totals.get(tenant, TenantTotals())
            return TenantTotals(**asdict(t))
