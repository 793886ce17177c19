"""A price table (USD per million input tokens) to turn token counts into money.

The default below is **illustrative**: list prices of hosted models as published around its date,
rounded, for one representative model per vocabulary. Prices change often and differ by provider;
pass your own table (``--prices FILE``, TOML or JSON with the same shape) for real decisions.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from hanstack.errors import InvalidInputError, NotFoundError

DEFAULT_PRICES_TOML = """\
# hanstack default token price table: ILLUSTRATIVE list prices, not a quote.
# USD per 1 million INPUT tokens, for one representative hosted model per vocabulary.
date = "2025-06-01"
currency = "USD"
unit = "per 1M input tokens"

[prices]
"gpt-4o" = 2.50            # GPT-4o (OpenAI API)
"gpt-4o-tiktoken" = 2.50
"gpt-4" = 30.00            # GPT-4 (8k), OpenAI API
"gpt-4-tiktoken" = 30.00
"llama-3" = 0.59           # Llama 3.3 70B, typical hosted price
"qwen-2.5" = 0.40          # Qwen2.5-72B-Instruct, typical hosted price
"qwen-3" = 0.20            # Qwen3-32B, typical hosted price
"qwen-3.5" = 0.40          # Qwen3.5 mid-size, typical hosted price
"gemma-3" = 0.10           # Gemma 3 27B, typical hosted price
"mistral-nemo" = 0.15      # Mistral NeMo (Mistral API)
"mistral-small-3" = 0.10   # Mistral Small 3 (Mistral API)
"mistral-v3" = 0.25        # Mistral 7B (Mistral API)
"deepseek-v1" = 0.14       # DeepSeek LLM 67B era pricing
"command-r" = 0.15         # Command R 08-2024 (Cohere API)
"""


@dataclass(frozen=True)
class PriceTable:
    prices: dict[str, float]
    date: str = ""
    currency: str = "USD"
    unit: str = "per 1M input tokens"
    source: str = "built-in illustrative table"
    notes: list[str] = field(default_factory=list)

    def price(self, tokenizer_name: str) -> float | None:
        return self.prices.get(tokenizer_name)


def _parse(data: dict[str, object], source: str) -> PriceTable:
    raw = data.get("prices", data)
    if not isinstance(raw, dict):
        raise InvalidInputError(f"{source}: 'prices' must be a table of name = number")
    prices: dict[str, float] = {}
    for name, value in raw.items():
        if name in ("date", "currency", "unit") and "prices" not in data:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInputError(
                f"{source}: price of {name!r} is {value!r}, not a number", hint='write e.g.  "gpt-4o" = 2.50'
            )
        prices[str(name)] = float(value)
    return PriceTable(
        prices=prices,
        date=str(data.get("date", "")),
        currency=str(data.get("currency", "USD")),
        unit=str(data.get("unit", "per 1M input tokens")),
        source=source,
    )


def load_prices(path: Path | None = None) -> PriceTable:
    """The built-in table, or a TOML/JSON file ``{date, currency, prices: {name: usd_per_mtok}}``."""
    if path is None:
        return _parse(tomllib.loads(DEFAULT_PRICES_TOML), "built-in illustrative table")
    if not path.is_file():
        raise NotFoundError(f"price table {path} does not exist")
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInputError(
            f"{path}: not valid {'JSON' if path.suffix.lower() == '.json' else 'TOML'}: {exc}"
        ) from exc
    if not isinstance(data, dict):
        raise InvalidInputError(f"{path}: expected a table at the top level")
    return _parse(data, str(path))
