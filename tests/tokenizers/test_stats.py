"""Statistics on a tiny parallel set, checked against numbers worked out by hand, and the report outputs."""

from __future__ import annotations

import csv
import json
import unicodedata
from pathlib import Path

import pytest

from hanstack.errors import InvalidInputError
from hanstack.tokenizers import get_tokenizer
from hanstack.tokenizers.prices import PriceTable, load_prices
from hanstack.tokenizers.report import report_to_dict, write_chart, write_csv
from hanstack.tokenizers.stats import compute_stats, count_morphemes

KO = ["가 나", "다"]
EN = ["a b", "c"]


def test_byte_tokenizer_numbers_by_hand() -> None:
    """utf8-bytes: one token per UTF-8 byte, so every number can be worked out on paper.

    "가 나" is 3+1+3 = 7 bytes and "다" 3 bytes: 10 tokens for 4 characters in 3 eojeol; English
    "a b" + "c" is 4 tokens. NFD splits each syllable into two 3-byte jamo: 6+1+6 + 6 = 19 bytes.
    Of the 10 tokens, the 9 Hangul bytes are fragments of a character; the space is whole.
    """
    tok = get_tokenizer("utf8-bytes")
    report = compute_stats(KO, [tok], english=EN, prices=PriceTable({"utf8-bytes": 2.0}), morphemes=False)
    c, r = report.corpus, report.rows[0]
    assert (c.sentences, c.chars, c.bytes, c.eojeols, c.parallel_sentences) == (2, 4, 10, 3, 2)
    assert r.tokens == 10 and r.english_tokens == 4
    assert r.tokens_per_sentence == pytest.approx(5.0)
    assert r.chars_per_token == pytest.approx(0.4)
    assert r.bytes_per_token == pytest.approx(1.0)
    assert r.fertility_eojeol == pytest.approx(10 / 3)
    assert r.fertility_morpheme is None
    assert r.premium == pytest.approx(2.5)
    assert r.byte_fallback_share == pytest.approx(0.9)
    assert r.roundtrip_exact == pytest.approx(1.0)
    assert r.nfd_penalty == pytest.approx(1.9)
    assert r.price_per_mtok == 2.0
    assert r.cost_per_m_chars == pytest.approx(2.0 * 10 / 4)
    assert r.chars_in_context == {"8k": 3276, "32k": 13107, "128k": 52428}


def test_real_tokenizer_premium_is_korean_over_english_tokens() -> None:
    tok = get_tokenizer("gpt-4o")
    ko = ["대한민국 헌법은 국민의 기본권을 보장한다.", "오늘은 날씨가 좋다."]
    en = ["The Constitution of Korea guarantees basic rights.", "The weather is nice today."]
    report = compute_stats(ko, [tok], english=en, prices=load_prices(), morphemes=False)
    r = report.rows[0]
    assert r.tokens == sum(tok.count(t) for t in ko)
    assert r.premium == pytest.approx(r.tokens / sum(tok.count(t) for t in en))
    assert r.roundtrip_exact == 1.0
    assert r.nfd_penalty > 2  # o200k has no jamo merges: decomposed Hangul costs far more
    assert r.cost_per_m_chars == pytest.approx(2.50 * r.tokens / report.corpus.chars)


def test_qwen_normalises_nfd_itself() -> None:
    report = compute_stats(["한국어 문장입니다."], [get_tokenizer("qwen-2.5")], morphemes=False)
    assert report.rows[0].nfd_penalty == pytest.approx(1.0)


def test_morpheme_fertility_with_kiwi_and_its_cache(tmp_path: Path) -> None:
    texts = ["국민의 권리"]  # 국민/NNG 의/JKG 권리/NNG
    assert count_morphemes(texts, cache_dir=tmp_path) == 3
    [cached] = list(tmp_path.glob("morphemes-*.json"))
    assert json.loads(cached.read_text())["morphemes"] == 3
    report = compute_stats(texts, [get_tokenizer("utf8-bytes")], morphemes=True, cache_dir=tmp_path)
    assert report.corpus.morphemes == 3
    assert report.rows[0].fertility_morpheme == pytest.approx(len("국민의 권리".encode()) / 3)


def test_bad_input() -> None:
    tok = get_tokenizer("utf8-bytes")
    with pytest.raises(InvalidInputError, match="2 lines but the Korean corpus has 1"):
        compute_stats(["가"], [tok], english=["a", "b"], morphemes=False)
    with pytest.raises(InvalidInputError, match="empty"):
        compute_stats([], [tok], morphemes=False)


def test_price_table_files(tmp_path: Path) -> None:
    default = load_prices()
    assert default.date and "gpt-4o" in default.prices and default.source.startswith("built-in")
    toml = tmp_path / "p.toml"
    toml.write_text('date = "2030-01-01"\n[prices]\n"gpt-4o" = 1.25\n')
    assert load_prices(toml).prices == {"gpt-4o": 1.25}
    js = tmp_path / "p.json"
    js.write_text(json.dumps({"date": "2030-01-01", "prices": {"gemma-3": 0.05}}))
    assert load_prices(js).price("gemma-3") == 0.05
    bad = tmp_path / "bad.toml"
    bad.write_text('[prices]\n"gpt-4o" = "cheap"\n')
    with pytest.raises(InvalidInputError, match="not a number"):
        load_prices(bad)
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(InvalidInputError, match="not valid JSON"):
        load_prices(broken)


def test_outputs_json_csv_chart(tmp_path: Path) -> None:
    toks = [get_tokenizer("utf8-bytes"), get_tokenizer("gpt-4o")]
    report = compute_stats(KO, toks, english=EN, prices=load_prices(), morphemes=False, name="tiny")
    data = json.loads(json.dumps(report_to_dict(report), ensure_ascii=False))
    assert [t["name"] for t in data["tokenizers"]] == ["utf8-bytes", "gpt-4o"]
    assert data["prices"]["illustrative"] is True
    rows = list(csv.DictReader(write_csv(report, tmp_path / "s.csv").open(encoding="utf-8")))
    assert rows[0]["name"] == "utf8-bytes" and float(rows[0]["premium"]) == pytest.approx(2.5)
    assert rows[0]["chars_in_8k"] == "3276"
    pytest.importorskip("matplotlib")
    assert write_chart(report, tmp_path / "s.png").read_bytes()[:4] == b"\x89PNG"
    assert b"<svg" in write_chart(report, tmp_path / "s.svg").read_bytes()[:500]
    with pytest.raises(InvalidInputError, match=r"\.png or \.svg"):
        write_chart(report, tmp_path / "s.jpg")


@pytest.mark.parametrize("name", ["gpt-4o", "qwen-3.5", "utf8-bytes"])
def test_fast_roundtrip_check_agrees_with_decoding_each_item(name: str, monkeypatch) -> None:
    """The joined-bytes shortcut and the plain per-item decode give the same count, including an
    item the tokenizer changes (Qwen NFC-normalises the decomposed one)."""
    from hanstack.tokenizers import stats

    tok = get_tokenizer(name)
    texts = ["대한민국 헌법", "", unicodedata.normalize("NFD", "한글"), "a\u00a0b 😀", "끝."]
    ids, offsets = stats._encode_flat(tok, texts)
    pieces = stats._Pieces.of(tok, ids)
    fast = stats._roundtrip_exact(tok, texts, ids, offsets, pieces)
    monkeypatch.setattr(tok, "concatenative", False)
    plain = stats._roundtrip_exact(tok, texts, ids, offsets, pieces)
    assert fast == plain
    assert plain == (len(texts) - 1 if name == "qwen-3.5" else len(texts))
