"""Data residency: model and embedding endpoints may only live on allowed hosts or networks.

``settings.server.egress_allowlist`` holds host names (``localhost``, ``llm.corp.example``, or a
suffix rule ``.corp.example``), IP addresses and CIDRs (``10.0.0.0/8``, ``::1``). Every endpoint the
settings name (model endpoints, the embedder URL, the Qdrant URL) is checked when the server starts
and whenever a remote embedder is built (:func:`hanstack.embed.registry.check_egress`):
one whose host is not allowed stops the start with :class:`EgressDeniedError` naming the host and
the setting. Host names not on the list are resolved and allowed only when *every* address they
resolve to is inside an allowed network (so a name cannot smuggle traffic out).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

from hanstack.errors import EgressDeniedError

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class EgressPolicy:
    def __init__(self, allowlist: Iterable[str]) -> None:
        self.hosts: set[str] = set()
        self.suffixes: list[str] = []
        self.networks: list[IPNetwork] = []
        for raw in allowlist:
            entry = raw.strip().lower()
            if not entry:
                continue
            try:
                self.networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                pass
            if entry.startswith("*."):
                entry = entry[1:]
            (self.suffixes.append(entry) if entry.startswith(".") else self.hosts.add(entry))

    def _ip_allowed(self, ip: str) -> bool:
        try:
            addr = ipaddress.ip_address(ip.split("%", 1)[0])
        except ValueError:
            return False
        return any(addr.version == net.version and addr in net for net in self.networks)

    def host_allowed(self, host: str) -> bool:
        host = host.strip("[]").lower().rstrip(".")
        if host in self.hosts or any(host.endswith(s) for s in self.suffixes):
            return True
        try:
            ipaddress.ip_address(host.split("%", 1)[0])
            return self._ip_allowed(host)
        except ValueError:
            pass
        try:
            infos = socket.getaddrinfo(host, None)
        except (OSError, UnicodeError):
            return False
        addrs = {info[4][0] for info in infos}
        return bool(addrs) and all(self._ip_allowed(str(a)) for a in addrs)

    def check_url(self, url: str, *, what: str) -> None:
        host = urlsplit(url).hostname
        if not host:
            raise EgressDeniedError(
                f"{what} has no host in its URL {url!r}", hint="use http(s)://host:port/..."
            )
        if not self.host_allowed(host):
            raise EgressDeniedError(
                f"{what} at {url} is outside the egress allowlist (host {host!r} not allowed): refusing to start",
                hint="add the host or its network to server.egress_allowlist in hanstack.toml, or use a local endpoint",
            )
