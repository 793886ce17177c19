"""Shared benchmark plumbing: where the data is, machine facts, writing results."""

from __future__ import annotations

import datetime as _dt
import gzip
import json
import os
import platform
import sys
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HANSTACK_SHARED_DATA", REPO.parent / "shared" / "data"))
RESULTS = REPO / "bench" / "results"


def require(path: Path) -> Path:
    if not path.exists():
        sys.exit(f"needs {path} (../shared/data is not on this machine)")
    return path


def nsmc_reviews(limit: int) -> Iterator[dict[str, Any]]:
    path = require(SHARED / "corpora" / "nsmc" / "nsmc_raw_reviews.jsonl.gz")
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        n = 0
        for line in fh:
            row = json.loads(line)
            if not row.get("review", "").strip():
                continue
            yield row
            n += 1
            if n >= limit:
                return


def machine(packages: tuple[str, ...] = ()) -> dict[str, Any]:
    versions = {}
    for name in ("hanstack", *packages):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "packages": versions,
    }


def write_results(
    name: str, command: str, payload: dict[str, Any], markdown: str, packages: tuple[str, ...] = ()
) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    meta = {"command": command, "machine": machine(packages)}
    (RESULTS / f"{name}.json").write_text(
        json.dumps({**meta, **payload}, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    m = meta["machine"]
    header = (
        f"# {name}\n\n- command: `{command}`\n- date: {m['date']}\n- machine: {m['cpu']} × {m['cpu_count']} cores, "
        f"{m['platform']}, Python {m['python']}\n- packages: "
        + ", ".join(f"{k} {v}" for k, v in m["packages"].items())
        + "\n\n"
    )
    out = RESULTS / f"{name}.md"
    out.write_text(header + markdown.strip() + "\n", encoding="utf-8")
    return out
