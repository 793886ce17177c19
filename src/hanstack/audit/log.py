"""The append-only, hash-chained audit log: one JSONL file per workspace.

Records are chained and written with a single ``write`` on an ``O_APPEND`` descriptor. A request
is acknowledged only after its record is written, so an acknowledged request is in the file:

- ``durability="os"`` (default): the record is written in the caller's thread, under a lock (a
  ~50 µs ``write``, cheaper than handing it to another thread); the bytes are in the kernel when
  ``append`` returns and survive the process being killed (``kill -9``, a crash, OOM), not a power cut.
- ``durability="fsync"``: records go to one writer thread (group commit) that drains everything
  queued, writes it and calls ``fsync`` once for the batch; the future resolves after the fsync.
  Survives a power cut; costs one fsync per batch (a few ms on a VM disk; concurrent requests share it).

Every write takes an exclusive ``flock`` on ``audit.lock`` and checks that the file is still the one
it has open with the size it left; maintenance commands (erase, retention) rewrite the file under
the same lock, and the writer re-reads the tail before it continues the chain.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import queue
import secrets
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from hanstack.audit.records import GENESIS, build_line, encode_line, subject_tag
from hanstack.errors import AuditError

log = logging.getLogger(__name__)

LOG_NAME = "audit.jsonl"
LOCK_NAME = "audit.lock"
KEY_NAME = "audit.key"
Durability = Literal["os", "fsync"]


@dataclass(frozen=True, slots=True)
class Appended:
    seq: int
    hash: str


def load_or_create_key(directory: Path) -> bytes:
    """The workspace's audit key (MACs, subject tags, checkpoint signatures), created 0600 once."""
    path = directory / KEY_NAME
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    except ValueError as exc:
        raise AuditError(
            f"audit key {path} is not hex", hint="restore it from backup; without it MACs cannot be checked"
        ) from exc
    directory.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process won the race
        return bytes.fromhex(path.read_text().strip())
    with os.fdopen(fd, "w") as fh:
        fh.write(key.hex())
    return key


@contextlib.contextmanager
def locked(directory: Path, fd: int | None = None) -> Iterator[None]:
    """Exclusive lock shared by writers and the maintenance commands (``fd``: a lock file kept open)."""
    own = fd is None
    if fd is None:
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        if own:
            os.close(fd)


def read_tail(path: Path) -> tuple[int, str, int]:
    """(last seq, last hash, size of the file's complete lines); repairs a torn last line.

    A line without its newline can only come from a write interrupted by a power cut; such a record
    was never acknowledged. It is moved aside to ``audit.jsonl.torn`` so that nothing is lost silently.
    """
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return 0, GENESIS, 0
    if size == 0:
        return 0, GENESIS, 0
    with path.open("rb+") as fh:
        block = 65536
        while True:
            start = max(0, size - block)
            fh.seek(start)
            data = fh.read(size - start)
            if not data.endswith(b"\n"):
                cut = data.rfind(b"\n")
                if cut < 0 and start > 0:
                    block *= 2
                    continue
                keep = start + cut + 1 if cut >= 0 else 0
                torn = data[cut + 1 :] if cut >= 0 else data
                with (path.parent / (path.name + ".torn")).open("ab") as aside:
                    aside.write(torn + b"\n")
                fh.truncate(keep)
                log.warning("audit log had a torn last line (%d bytes); moved aside", len(torn))
                size = keep
                if size == 0:
                    return 0, GENESIS, 0
                continue
            lines = data[:-1].rsplit(b"\n", 1)
            if len(lines) == 1 and start > 0:
                block *= 2
                continue
            try:
                last = json.loads(lines[-1])
                return int(last["seq"]), str(last["hash"]), size
            except (ValueError, KeyError, TypeError) as exc:
                raise AuditError(
                    f"the last record of {path} is damaged; refusing to extend a broken chain",
                    hint="run 'hanstack audit verify' to see what changed",
                ) from exc


def iter_records(path: Path) -> Iterator[tuple[int, dict[str, Any] | None, str]]:
    """(line number, record or None when unparseable, raw line) for every line of the log."""
    if not path.exists():
        return
    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, start=1):
            text = raw.decode("utf-8", errors="replace").rstrip("\n")
            if not text.strip():
                continue
            try:
                rec = json.loads(text)
            except ValueError:
                yield lineno, None, text
                continue
            yield lineno, rec if isinstance(rec, dict) else None, text


class AuditLog:
    """Appends records to ``<directory>/audit.jsonl``; safe to use from any thread or event loop."""

    def __init__(self, directory: Path, *, durability: Durability = "os") -> None:
        if durability not in ("os", "fsync"):
            raise AuditError(f"unknown audit durability {durability!r}", hint="use 'os' or 'fsync'")
        self.directory = directory
        self.path = directory / LOG_NAME
        self.durability = durability
        directory.mkdir(parents=True, exist_ok=True)
        self.key = load_or_create_key(directory)
        self._queue: queue.SimpleQueue[
            tuple[str, dict[str, Any], dict[str, Any] | None, Future[Appended]] | None
        ] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._fd: int | None = None
        self._ino = -1
        self._size = -1
        self._seq = 0
        self._prev = GENESIS
        self._closed = False
        self._write_lock = threading.Lock()
        self._lock_fd = os.open(directory / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)

    # --- public API -----------------------------------------------------------------------------
    def tag(self, value: str) -> str:
        """The keyed tag under which records about a data subject (phone, name, user id) are found."""
        return subject_tag(self.key, value)

    def submit(
        self, kind: str, meta: dict[str, Any], content: dict[str, Any] | None = None
    ) -> Future[Appended]:
        """Queue a record; the future resolves once it is written (see module doc for durability)."""
        if self._closed:
            raise AuditError("audit log is closed")
        fut: Future[Appended] = Future()
        if self.durability == "os":
            self._write_batch([(kind, meta, content, fut)])
            return fut
        self._ensure_thread()
        self._queue.put((kind, meta, content, fut))
        return fut

    def append(self, kind: str, meta: dict[str, Any], content: dict[str, Any] | None = None) -> Appended:
        return self.submit(kind, meta, content).result()

    async def append_async(
        self, kind: str, meta: dict[str, Any], content: dict[str, Any] | None = None
    ) -> Appended:
        return await asyncio.wrap_future(self.submit(kind, meta, content))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=10)
        with self._write_lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            os.close(self._lock_fd)

    # --- writer thread --------------------------------------------------------------------------
    def _ensure_thread(self) -> None:
        if self._thread is not None:
            return
        with self._start_lock:
            if self._thread is None:
                thread = threading.Thread(target=self._run, name="hanstack-audit-writer", daemon=True)
                thread.start()
                self._thread = thread

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            stop = False
            while True:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            self._write_batch(batch)
            if stop:
                return

    def _write_batch(
        self, batch: list[tuple[str, dict[str, Any], dict[str, Any] | None, Future[Appended]]]
    ) -> None:
        try:
            with self._write_lock, locked(self.directory, self._lock_fd):
                self._sync_with_file()
                assert self._fd is not None
                seq, prev = self._seq, self._prev
                lines: list[bytes] = []
                results: list[Appended] = []
                for kind, meta, content, _ in batch:
                    seq += 1
                    line, prev = build_line(
                        seq=seq, prev=prev, kind=kind, meta=meta, content=content, key=self.key
                    )
                    lines.append(line)
                    results.append(Appended(seq, prev))
                data = b"".join(lines)
                view = memoryview(data)
                while view:
                    written = os.write(self._fd, view)
                    view = view[written:]
                if self.durability == "fsync":
                    os.fsync(self._fd)
                self._seq, self._prev = seq, prev
                self._size += len(data)
        except BaseException as exc:  # the writer must never die silently: fail every waiter
            err = (
                exc
                if isinstance(exc, AuditError)
                else AuditError(f"cannot write audit log {self.path}: {exc}")
            )
            self._fd_reset()
            for *_, fut in batch:
                fut.set_exception(err)
            return
        for (*_, fut), res in zip(batch, results, strict=True):
            fut.set_result(res)

    def _fd_reset(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
        self._fd, self._ino, self._size = None, -1, -1

    def _sync_with_file(self) -> None:
        """Reopen and re-read the tail when the file was rewritten or appended to by someone else."""
        try:
            st = os.stat(self.path)
            same = self._fd is not None and st.st_ino == self._ino and st.st_size == self._size
        except FileNotFoundError:
            same = False
        if same:
            return
        self._fd_reset()
        self._seq, self._prev, _ = read_tail(self.path)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        st = os.fstat(fd)
        self._fd, self._ino, self._size = fd, st.st_ino, st.st_size


def replace_log(directory: Path, records: list[dict[str, Any]]) -> None:
    """Atomically replace the log with ``records`` (caller holds :func:`locked`): tmp, fsync, rename."""
    path = directory / LOG_NAME
    tmp = directory / (LOG_NAME + ".rewrite")
    with tmp.open("wb") as fh:
        for rec in records:
            fh.write(encode_line(rec))
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    dfd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def load_records(directory: Path) -> list[dict[str, Any]]:
    """Every record (caller holds :func:`locked`); refuses a log with unreadable lines."""
    out = []
    for lineno, rec, _ in iter_records(directory / LOG_NAME):
        if rec is None:
            raise AuditError(
                f"line {lineno} of the audit log is unreadable; refusing to rewrite it",
                hint="run 'hanstack audit verify' and restore the log from backup",
            )
        out.append(rec)
    return out
