"""Model backends as the gateway uses them: resolved by name, checked against the egress allowlist.

Over HTTP a caller names a model (tier, catalog name, registered endpoint, ``extractive``); a raw
``http://`` URL is refused, so a caller cannot make the gateway send data to a host of its choice.
Every endpoint the workspace configures is checked against ``server.egress_allowlist`` at start-up
(:func:`check_configured_egress`); a backend resolved later is checked again before first use.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from hanstack.egress import EgressPolicy
from hanstack.errors import InvalidInputError

if TYPE_CHECKING:
    from hanstack.config import Settings


def configured_endpoints(settings: Settings) -> list[tuple[str, str]]:
    """(what, url) for every endpoint named by the settings or the workspace's model registry."""
    out = [
        (f"model endpoint {name!r} (models.endpoints)", url)
        for name, url in settings.models.endpoints.items()
    ]
    try:
        from hanstack.llm.catalog import load_registry
    except ImportError:
        pass
    else:
        for name, data in load_registry(settings).endpoints.items():
            if data.get("base_url"):
                out.append((f"registered model endpoint {name!r}", str(data["base_url"])))
    r = settings.retrieval
    if r.embedder_url:
        out.append(("embedder endpoint (retrieval.embedder_url)", r.embedder_url))
    if r.store == "qdrant" and r.qdrant_url:
        out.append(("Qdrant server (retrieval.qdrant_url)", r.qdrant_url))
    return out


def check_configured_egress(settings: Settings, policy: EgressPolicy) -> None:
    for what, url in configured_endpoints(settings):
        policy.check_url(url, what=what)


class BackendResolver:
    def __init__(self, settings: Settings, policy: EgressPolicy) -> None:
        self.settings = settings
        self.policy = policy
        self._ready: dict[str, Any] = {}
        self._runners: dict[str, Any] = {}
        self._lock = threading.Lock()

    def cached(self, name: str) -> Any | None:
        return self._ready.get(name)

    def get(self, name: str) -> Any:
        """The backend for ``name`` (may load a model: call it off the event loop the first time)."""
        hit = self._ready.get(name)
        if hit is not None:
            return hit
        if "://" in name:
            raise InvalidInputError(
                "model URLs are not accepted by the gateway",
                hint="register the endpoint: hanstack models register",
            )
        from hanstack.llm import get_backend

        backend = get_backend(self.settings, name)
        base = getattr(backend.info, "base_url", None)
        if base:
            self.policy.check_url(base, what=f"model {name!r}")
        with self._lock:
            self._ready[name] = backend
        return backend

    def cached_runner(self, name: str) -> Any | None:
        return self._runners.get(name)

    def runner(self, name: str, pipeline: Any) -> Any:
        """How the chat route calls ``name``: :class:`~hanstack.server.upstream.Passthrough` for an
        OpenAI-compatible endpoint, :class:`~hanstack.server.upstream.Threaded` otherwise."""
        hit = self._runners.get(name)
        if hit is not None:
            return hit
        from hanstack.server.upstream import Passthrough, Threaded, api_key_for

        backend = self.get(name)
        if getattr(backend.info, "kind", "") == "openai" and getattr(backend.info, "base_url", None):
            runner: Any = Passthrough(
                backend,
                api_key=api_key_for(self.settings, name),
                timeout_s=self.settings.server.request_timeout_s,
            )
        else:
            runner = Threaded(backend, pipeline.in_thread, pipeline.iterate_in_thread)
        with self._lock:
            return self._runners.setdefault(name, runner)

    async def aclose(self) -> None:
        for runner in list(self._runners.values()):
            await runner.aclose()
        self._runners.clear()

    def list_models(self) -> list[str]:
        try:
            from hanstack.llm import list_known
        except ImportError:
            return []
        return list_known(self.settings)
