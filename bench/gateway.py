"""Gateway figures (issue 7): overhead vs a direct call and vs LiteLLM's proxy, memory, kill -9.

    .venv/bin/python bench/gateway.py            # ~10-15 min; results in bench/results/gateway.{json,md}

1. **Overhead.** One fast OpenAI-compatible *echo* server on 127.0.0.1 (``hanstack.server.echo``,
   pure ASGI under uvicorn) answers every path. The same chat request (a short Korean question) is
   sent directly to it, through ``hanstack serve`` (one uvicorn process; PII and injection guards,
   canary and the hash-chained audit log all on) and through LiteLLM's proxy (``litellm --config``,
   one worker, installed by this script into its own venv under ``bench/.cache/``, never into the
   project's). Concurrency 1, 16 and 64 in one run, each with warm-up; the three targets are
   measured back to back per level. *Added* latency = target percentile − direct percentile.
2. **Memory.** A fresh gateway; RSS of its process after start-up, 1,000, 5,000, 10,000 and 20,000
   requests (concurrency 16).
3. **Fault.** A fresh gateway under load (concurrency 16) is killed with SIGKILL after a few
   seconds. Every request that got a 200 is "acknowledged"; after the kill the audit chain must
   verify (MACs included) and every acknowledged request id must be in it. The gateway is then
   restarted, serves more requests, and the chain verifies again.

The load generator is a minimal keep-alive HTTP/1.1 client on asyncio streams (one connection per
concurrent worker), so the client's own cost is small and identical for all three targets. All
traffic stays on 127.0.0.1; every loop is bounded by a request count and a deadline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, RESULTS, write_results

LITELLM_VENV = REPO / "bench" / ".cache" / "venv-litellm"
PROMPT = "안녕하세요. 요금제를 바꾸고 싶은데 언제부터 적용되나요?"


# --- processes ----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(port: int, path: str, proc: subprocess.Popen[bytes], timeout: float = 180.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process on port {port} exited with {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}{path}", timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"nothing answered on port {port} within {timeout:.0f} s")


def start(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    fh = log.open("ab")
    return subprocess.Popen(
        cmd, stdout=fh, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}, cwd=REPO
    )


def stop(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def make_workspace(root: Path, echo_port: int) -> tuple[Path, str]:
    """A gateway workspace whose model ``echo`` is the echo server; returns (home, API key)."""
    home = root / f"ws-{time.monotonic_ns()}"
    home.mkdir(parents=True)
    (home / "hanstack.toml").write_text(
        f'[models.endpoints]\necho = "http://127.0.0.1:{echo_port}/v1"\n\n'
        "[server]\nrequests_per_minute = 100000000\nmax_tokens_per_request = 4096\n",
        encoding="utf-8",
    )
    from hanstack.auth import KeyStore

    store = KeyStore(home / "keys.sqlite3")
    _, key = store.create(tenant="bench", role="admin")
    store.close()
    return home, key


def start_gateway(home: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    cmd = [
        sys.executable,
        "-c",
        "import sys; from hanstack.cli import main; main(sys.argv[1:])",
        "-w",
        str(home),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    proc = start(cmd, log)
    wait_http(port, "/healthz", proc)
    return proc


def ensure_litellm() -> Path:
    exe = LITELLM_VENV / "bin" / "litellm"
    if not exe.exists():
        print("installing litellm[proxy] into", LITELLM_VENV, flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(LITELLM_VENV)], check=True)
        subprocess.run([str(LITELLM_VENV / "bin" / "pip"), "install", "-q", "litellm[proxy]"], check=True)
    return exe


def start_litellm(
    echo_port: int, port: int, root: Path, log: Path, master_key: str
) -> subprocess.Popen[bytes]:
    """LiteLLM's proxy with a master key (it refuses to start without one), one worker, no database."""
    cfg = root / "litellm.yaml"
    cfg.write_text(
        "model_list:\n  - model_name: echo\n    litellm_params:\n      model: openai/echo\n"
        f"      api_base: http://127.0.0.1:{echo_port}/v1\n      api_key: none\n"
        "litellm_settings:\n  telemetry: false\n  drop_params: true\n"
        f"general_settings:\n  master_key: {master_key}\n",
        encoding="utf-8",
    )
    env = {
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_LOG": "ERROR",
        "LITELLM_TELEMETRY": "False",
        "NO_PROXY": "*",
        "no_proxy": "*",
    }
    proc = start(
        [
            str(ensure_litellm()),
            "--config",
            str(cfg),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--num_workers",
            "1",
        ],
        log,
        env,
    )
    wait_http(port, "/health/liveliness", proc, timeout=300)
    return proc


# --- load generator --------------------------------------------------------------------------------
class Conn:
    """One keep-alive HTTP/1.1 connection that sends the same POST again and again."""

    def __init__(self, port: int, path: str, body: bytes, key: str) -> None:
        self.port = port
        self.head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {key}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: keep-alive\r\n\r\n"
        ).encode() + body
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self) -> tuple[int, dict[str, str], bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        self.writer.write(self.head)
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
        if "content-length" in headers:
            body = await self.reader.readexactly(int(headers["content-length"]))
        else:  # chunked
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                chunk = await self.reader.readexactly(size + 2)
                if size == 0:
                    break
                parts.append(chunk[:-2])
            body = b"".join(parts)
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def chat_body(n: int = 0) -> bytes:
    content = PROMPT if n == 0 else f"{PROMPT} #{n}"
    return json.dumps(
        {"model": "echo", "messages": [{"role": "user", "content": content}], "max_tokens": 64},
        ensure_ascii=False,
    ).encode()


async def run_load(
    port: int, key: str, concurrency: int, total: int, *, deadline_s: float = 300.0, on_ok: Any = None
) -> dict[str, Any]:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    issued = 0
    stop_at = time.monotonic() + deadline_s

    async def worker() -> None:
        nonlocal issued
        conn = Conn(port, "/v1/chat/completions", chat_body(), key)
        try:
            while issued < total and time.monotonic() < stop_at:
                issued += 1
                t0 = time.perf_counter()
                try:
                    status, headers, body = await conn.request()
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                    conn.close()
                    if on_ok is not None:  # fault run: the server is gone
                        return
                    continue
                dt = time.perf_counter() - t0
                if status == 200:
                    latencies.append(dt)
                    if on_ok is not None:
                        on_ok(headers, body)
                else:
                    errors[str(status)] = errors.get(str(status), 0) + 1
        finally:
            conn.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - t0
    return {"ok": len(latencies), "errors": errors, "wall_s": wall, "latencies": latencies}


def summarise(res: dict[str, Any]) -> dict[str, Any]:
    lat = sorted(res["latencies"])
    if not lat:
        return {"ok": 0, "errors": res["errors"]}
    q = statistics.quantiles(lat, n=100, method="inclusive")
    return {
        "ok": res["ok"],
        "errors": res["errors"],
        "p50_ms": round(statistics.median(lat) * 1000, 3),
        "p99_ms": round(q[98] * 1000, 3),
        "mean_ms": round(statistics.fmean(lat) * 1000, 3),
        "rps": round(res["ok"] / res["wall_s"], 1),
    }


# --- the three parts ----------------------------------------------------------------------------------
def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def overhead(
    targets: dict[str, tuple[int, str, int]], levels: dict[int, int], warmup: int, rounds: int
) -> dict[str, Any]:
    """Per concurrency level, the targets take turns in ``rounds`` slices, so that all of them meet
    the same machine load; each target process's own CPU time per request is measured as well
    (``cpu_ms_per_request``: what serving one request costs the proxy itself, whatever the load)."""
    out: dict[str, Any] = {}
    for conc, total in levels.items():
        merged: dict[str, dict[str, Any]] = {
            n: {"ok": 0, "errors": {}, "wall_s": 0.0, "latencies": []} for n in targets
        }
        cpu = dict.fromkeys(targets, 0.0)
        for port, key, _ in targets.values():
            asyncio.run(run_load(port, key, conc, warmup))
        for _ in range(rounds):
            for name, (port, key, pid) in targets.items():
                c0 = cpu_seconds(pid)
                res = asyncio.run(run_load(port, key, conc, max(1, total // rounds)))
                cpu[name] += cpu_seconds(pid) - c0
                m = merged[name]
                m["ok"] += res["ok"]
                m["wall_s"] += res["wall_s"]
                m["latencies"] += res["latencies"]
                for k, v in res["errors"].items():
                    m["errors"][k] = m["errors"].get(k, 0) + v
        row: dict[str, Any] = {}
        for name in targets:
            row[name] = summarise(merged[name])
            row[name]["cpu_ms_per_request"] = round(1000 * cpu[name] / max(1, merged[name]["ok"]), 3)
            print(f"  c={conc:<3} {name:<9} {row[name]}", flush=True)
        base = row["direct"]
        for name in targets:
            if name != "direct" and "p50_ms" in row[name]:
                row[name]["added_p50_ms"] = round(row[name]["p50_ms"] - base["p50_ms"], 3)
                row[name]["added_p99_ms"] = round(row[name]["p99_ms"] - base["p99_ms"], 3)
        out[str(conc)] = row
    return out


def memory(root: Path, echo_port: int, checkpoints: list[int]) -> dict[str, Any]:
    home, key = make_workspace(root, echo_port)
    port = free_port()
    proc = start_gateway(home, port, root / "gateway-memory.log")
    try:
        asyncio.run(run_load(port, key, 4, 50))
        samples = {"0": round(rss_mib(proc.pid), 1)}
        done = 0
        for mark in checkpoints:
            res = asyncio.run(run_load(port, key, 16, mark - done, deadline_s=600))
            done += res["ok"] + sum(res["errors"].values())
            samples[str(mark)] = round(rss_mib(proc.pid), 1)
            print(f"  after {mark} requests: RSS {samples[str(mark)]} MiB", flush=True)
        return {"rss_mib": samples, "requests": done}
    finally:
        stop(proc)


def fault(root: Path, echo_port: int, kill_after_s: float) -> dict[str, Any]:
    from hanstack.audit import load_or_create_key, verify_log
    from hanstack.audit.export import iter_export

    home, key = make_workspace(root, echo_port)
    port = free_port()
    proc = start_gateway(home, port, root / "gateway-fault.log")
    acked: list[str] = []

    def on_ok(headers: dict[str, str], body: bytes) -> None:
        acked.append(headers["x-request-id"])

    async def load_and_kill() -> dict[str, Any]:
        await run_load(
            port, key, 4, 40, on_ok=on_ok
        )  # the first requests resolve the backend: not part of the test
        task = asyncio.create_task(run_load(port, key, 16, 10**9, deadline_s=kill_after_s + 60, on_ok=on_ok))
        started, before = time.monotonic(), len(acked)
        # kill mid-load: after kill_after_s, once at least 200 more requests were acknowledged
        while time.monotonic() - started < kill_after_s or (
            len(acked) - before < 200 and time.monotonic() - started < 60
        ):
            await asyncio.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        return await task

    res = asyncio.run(load_and_kill())
    proc.wait()
    audit_dir = home / "audit"
    akey = load_or_create_key(audit_dir)
    v1 = verify_log(audit_dir, key=akey)
    logged = {r["meta"].get("request_id") for r in iter_export(audit_dir, kinds=("request",))}
    missing = [rid for rid in acked if rid not in logged]
    # restart on the same workspace: the chain continues and still verifies
    proc2 = start_gateway(home, port, root / "gateway-fault.log")
    try:
        after = asyncio.run(run_load(port, key, 4, 200))
    finally:
        stop(proc2)
    v2 = verify_log(audit_dir, key=akey)
    out = {
        "kill_after_s": kill_after_s,
        "acknowledged": len(acked),
        "client_errors_at_kill": res["errors"],
        "records_in_log_after_kill": v1.records,
        "unacknowledged_records": v1.records - len(acked),
        "missing_acknowledged": len(missing),
        "verify_after_kill": {"ok": v1.ok, "problems": len(v1.problems), "torn_tail": v1.torn_tail},
        "requests_after_restart": after["ok"],
        "verify_after_restart": {"ok": v2.ok, "records": v2.records, "problems": len(v2.problems)},
    }
    print(f"  {out}", flush=True)
    return out


def markdown(result: dict[str, Any]) -> str:
    lines = [
        "## Overhead (chat completion, echo backend, guards + audit on in hanstack)",
        "",
        "| concurrency | target | p50 ms | p99 ms | req/s | added p50 ms | added p99 ms | CPU ms/request (its own process) | errors |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for conc, row in result["overhead"].items():
        for name, r in row.items():
            lines.append(
                f"| {conc} | {name} | {r.get('p50_ms', '-')} | {r.get('p99_ms', '-')} | {r.get('rps', '-')} | "
                f"{r.get('added_p50_ms', '-')} | {r.get('added_p99_ms', '-')} | {r.get('cpu_ms_per_request', '-')} | "
                f"{r.get('errors') or '-'} |"
            )
    t = result["targets_met"]
    lines += [
        "",
        f"- hanstack adds less than LiteLLM at every concurrency (p50 and p99): **{t['less_than_litellm']}**",
        f"- hanstack adds ≤ 5 ms p50 at concurrency 1: **{t['p50_c1_le_5ms']}** "
        f"({result['overhead']['1']['hanstack'].get('added_p50_ms')} ms)",
        "",
    ]
    if "memory" in result:
        m = result["memory"]["rss_mib"]
        lines += [
            "## Memory (gateway process RSS, MiB)",
            "",
            "| requests | " + " | ".join(m) + " |",
            "|---|" + "---|" * len(m),
            "| RSS MiB | " + " | ".join(str(v) for v in m.values()) + " |",
            "",
        ]
    if "fault" in result:
        f = result["fault"]
        lines += [
            "## kill -9 during load",
            "",
            f"- acknowledged (HTTP 200) before the kill: {f['acknowledged']}; records in the log: "
            f"{f['records_in_log_after_kill']} (written but not acknowledged: {f['unacknowledged_records']})",
            f"- acknowledged requests missing from the log: **{f['missing_acknowledged']}**",
            f"- chain after the kill verifies: **{f['verify_after_kill']['ok']}** (torn tail: {f['verify_after_kill']['torn_tail']})",
            f"- after restart and {f['requests_after_restart']} more requests the chain verifies: "
            f"**{f['verify_after_restart']['ok']}** ({f['verify_after_restart']['records']} records)",
            "",
        ]
    if result.get("reused_from_previous_run"):
        lines += [
            f"Parts reused from the previous full run: {', '.join(result['reused_from_previous_run'])}.",
            "",
        ]
    lines += [
        f"Machine load average (1/5/15 min) at start {result['loadavg_at_start']}, at end {result.get('loadavg_at_end')}.",
        "Notes: a 2-core VM shared by the load generator, the echo server and the proxy under test (and, during "
        "this run, by other jobs: see the load average); single runs. LiteLLM runs with one worker, a master key "
        "and no database, like hanstack's one process with its key table.",
    ]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, nargs=3, default=[400, 1600, 1600], metavar=("C1", "C16", "C64"))
    ap.add_argument("--warmup", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=4, help="turns the targets take at each concurrency level")
    ap.add_argument("--memory", type=int, nargs="+", default=[1000, 5000, 10000, 20000])
    ap.add_argument("--kill-after", type=float, default=4.0)
    ap.add_argument("--skip-litellm", action="store_true")
    ap.add_argument("--skip", nargs="*", default=[], choices=["overhead", "memory", "fault"])
    args = ap.parse_args()

    root = Path(tempfile.mkdtemp(prefix="hanstack-bench-gw-"))
    echo_port = free_port()
    echo = start([sys.executable, "-m", "hanstack.server.echo", "--port", str(echo_port)], root / "echo.log")
    procs: list[subprocess.Popen[bytes]] = [echo]
    result: dict[str, Any] = {
        "prompt": PROMPT,
        "levels": dict(zip(("1", "16", "64"), args.requests, strict=True)),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    try:
        wait_http(echo_port, "/health", echo)
        if "overhead" not in args.skip:
            home, key = make_workspace(root, echo_port)
            gw_port = free_port()
            procs.append(start_gateway(home, gw_port, root / "gateway.log"))
            targets = {"direct": (echo_port, "none", echo.pid), "hanstack": (gw_port, key, procs[-1].pid)}
            if not args.skip_litellm:
                import secrets

                ll_port, ll_key = free_port(), "sk-" + secrets.token_hex(32)
                procs.append(start_litellm(echo_port, ll_port, root, root / "litellm.log", ll_key))
                targets["litellm"] = (ll_port, ll_key, procs[-1].pid)
            print("overhead", flush=True)
            result["overhead"] = overhead(
                targets, dict(zip((1, 16, 64), args.requests, strict=True)), args.warmup, args.rounds
            )
            for p in procs[1:]:
                stop(p)
            h = {c: r["hanstack"] for c, r in result["overhead"].items()}
            ll = {c: r.get("litellm") for c, r in result["overhead"].items()}
            result["targets_met"] = {
                "less_than_litellm": all(
                    ll[c]
                    and h[c]["added_p50_ms"] < ll[c]["added_p50_ms"]
                    and h[c]["added_p99_ms"] < ll[c]["added_p99_ms"]
                    for c in h
                ),
                "p50_c1_le_5ms": h["1"]["added_p50_ms"] <= 5.0,
            }
        if "memory" not in args.skip:
            print("memory", flush=True)
            result["memory"] = memory(root, echo_port, args.memory)
        if "fault" not in args.skip:
            print("fault", flush=True)
            result["fault"] = fault(root, echo_port, args.kill_after)
    finally:
        for p in procs:
            stop(p)
    result["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    packages = ("fastapi", "uvicorn", "httpx")
    if "overhead" in result and not args.skip_litellm:
        ver = subprocess.run(
            [
                str(LITELLM_VENV / "bin" / "python"),
                "-c",
                "import importlib.metadata as m; print(m.version('litellm'))",
            ],
            capture_output=True,
            text=True,
        ).stdout.strip()
        result["litellm_version"] = ver
    previous = RESULTS / "gateway.json"
    if args.skip and previous.exists():  # a partial rerun keeps the other parts of the last full run
        old = json.loads(previous.read_text(encoding="utf-8"))
        for part in args.skip:
            if part in old:
                result[part] = old[part]
                # keep where the part was really measured when the old file had reused it too
                origin = [r for r in old.get("reused_from_previous_run", []) if r.startswith(part + " ")]
                result.setdefault("reused_from_previous_run", []).append(
                    origin[0]
                    if origin
                    else f"{part} (run of {old['machine']['date']}, load average at its start {old.get('loadavg_at_start')})"
                )
        for k in ("targets_met", "litellm_version"):
            if k not in result and k in old:
                result[k] = old[k]
    md = markdown(result) if "overhead" in result else json.dumps(result, ensure_ascii=False, indent=2)
    out = write_results("gateway", "python bench/gateway.py " + " ".join(sys.argv[1:]), result, md, packages)
    print("wrote", out)


if __name__ == "__main__":
    main()
