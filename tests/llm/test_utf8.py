from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hanstack.llm.utf8 import REPLACEMENT, StopScanner, Utf8StreamDecoder, decode_pieces

KOREAN = "대한민국 헌법은 국민의 기본권을 보장하며, 모든 국민은 법 앞에 평등하다. 😀 café"


def byte_tokens(text: str, sizes: list[int]) -> list[bytes]:
    """Cut the UTF-8 bytes of ``text`` into pieces of the given sizes (cycled), like byte-level BPE tokens."""
    data = text.encode("utf-8")
    out, i, k = [], 0, 0
    while i < len(data):
        n = sizes[k % len(sizes)]
        out.append(data[i : i + n])
        i += n
        k += 1
    return out


def test_hangul_split_mid_syllable_is_held_back() -> None:
    dec = Utf8StreamDecoder()
    han = "한".encode()  # 3 bytes
    assert dec.feed(han[:1]) == ""
    assert dec.pending == han[:1]
    assert dec.feed(han[1:2]) == ""
    assert dec.feed(han[2:] + "국".encode()[:2]) == "한"
    assert dec.feed("국".encode()[2:]) == "국"
    assert dec.flush() == ""
    assert dec.dropped_bytes == 0


def test_single_byte_tokens_rebuild_text_exactly() -> None:
    deltas = list(decode_pieces(byte_tokens(KOREAN, [1])))
    assert "".join(deltas) == KOREAN
    assert all(REPLACEMENT not in d for d in deltas)
    assert all(d for d in deltas)


def test_two_and_four_byte_tokens_end_mid_character() -> None:
    pieces = byte_tokens(KOREAN, [2, 4, 1, 5])
    assert any(_invalid_alone(p) for p in pieces)  # the test really splits characters
    assert "".join(decode_pieces(pieces)) == KOREAN


def _invalid_alone(piece: bytes) -> bool:
    try:
        piece.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def test_truncated_stream_drops_partial_character_not_replaces() -> None:
    data = "안녕".encode()[:-1]
    dec = Utf8StreamDecoder()
    out = dec.feed(data) + dec.flush()
    assert out == "안"
    assert dec.dropped_bytes == 2


def test_invalid_bytes_dropped_never_ufffd() -> None:
    out = "".join(decode_pieces([b"\xff", "가".encode(), b"\xc0\xaf", "나".encode()]))
    assert out == "가나"


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=0, max_size=60), st.lists(st.integers(1, 6), min_size=1, max_size=8))
def test_any_split_roundtrips(text: str, sizes: list[int]) -> None:
    deltas = list(decode_pieces(byte_tokens(text, sizes)))
    assert "".join(deltas) == text
    assert all(REPLACEMENT not in d for d in deltas) or REPLACEMENT in text


def test_stop_scanner_holds_back_partial_stop() -> None:
    sc = StopScanner(["<end_of_turn>"])
    assert sc.push("안녕하세요<end") == "안녕하세요"
    assert sc.push("_of") == ""
    assert sc.push("_turn>더") == ""
    assert sc.stopped
    assert sc.flush() == ""


def test_stop_scanner_releases_false_alarm() -> None:
    sc = StopScanner(["<end_of_turn>"])
    assert sc.push("a<e") == "a"
    assert sc.push("x") == "<ex"
    assert sc.flush() == ""
    sc2 = StopScanner(["###"])
    assert sc2.push("가#") == "가"
    assert sc2.flush() == "#"
