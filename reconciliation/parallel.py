"""Reading the statement in a forked child while the parent prepares the shipments (the second core).

The child runs `read_statement` exactly as the parent would and sends the Statement back through a pipe
in a compact form: the waybills as one string, the row numbers and per-line field numbers as arrays,
the (few thousand) distinct LineFields pickled. It also works out what matching needs from the lines
alone (the waybills as ints, the repeated waybills). Progress calls go back as messages; the parent
relays them in its own thread whenever it polls. A StatementError is sent back as it was raised.

Used only where forking is safe and worth it (`start` returns None otherwise, and the caller reads the
statement itself): os.fork exists, two cores are available, the process runs a single thread (a fork
copies no other thread, and a lock one of them held would stay held in the child), and the statement
is large. If the child fails in any other way the parent reads the statement itself.
"""

from __future__ import annotations

import os
import pickle
import select
import struct
import threading
from array import array
from collections.abc import Callable, Mapping
from pathlib import Path

from . import matching
from .digits import INT64_DIGITS
from .errors import StatementError
from .statement import Progress, Statement, read_statement
from .xlsx_guard import Limits

MIN_BYTES = 4 << 20  # about 50,000 lines: below this the fork costs more than it saves
ENABLED = os.environ.get("CERTPOST_RECONCILE_FORK", "1") != "0"
_HEADER = struct.Struct("!cQ")
_PROGRESS, _RESULT, _INTS, _REPEATS, _ERROR, _FAILED = b"P", b"R", b"I", b"D", b"E", b"F"


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _size(source: bytes | str | Path) -> int:
    if isinstance(source, bytes):
        return len(source)
    try:
        return os.stat(source).st_size
    except (OSError, ValueError):
        return 0


def worthwhile(source: bytes | str | Path) -> bool:
    return (
        ENABLED
        and hasattr(os, "fork")
        and _cpus() >= 2
        and threading.active_count() == 1
        and _size(source) >= MIN_BYTES
    )


def start(
    source: bytes | str | Path,
    *,
    filename: str | None = None,
    mapping: Mapping[str, str] | None = None,
    on_progress: Progress | None = None,
    limits: Limits | None = None,
) -> ParallelRead | None:
    """The statement being read in a child process, or None where that is not worthwhile or possible."""
    if not worthwhile(source):
        return None
    args = (source, filename, mapping, on_progress, limits)
    try:
        r, w = os.pipe()
    except OSError:
        return None
    _widen(w)
    try:
        pid = os.fork()
    except OSError:
        os.close(r)
        os.close(w)
        return None
    if pid == 0:  # the child: never returns
        status = 1
        try:
            os.close(r)
            _child(w, source, filename, mapping, on_progress is not None, limits)
            status = 0
        finally:
            os._exit(status)
    os.close(w)
    return ParallelRead(pid, r, args)


def _widen(fd: int) -> None:
    """A pipe of 1 MiB instead of 64 KiB: the statement passes in fewer turns (Linux only)."""
    try:
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, 1 << 20)
    except (ImportError, AttributeError, OSError):
        pass


def _child(w: int, source, filename, mapping, progress: bool, limits: Limits | None) -> None:
    def send(tag: bytes, payload: object) -> None:
        body = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
        _write_all(w, _HEADER.pack(tag, len(body)))
        _write_all(w, body)

    try:
        statement = read_statement(
            source,
            filename=filename,
            mapping=mapping,
            on_progress=(lambda done, total: send(_PROGRESS, (done, total))) if progress else None,
            limits=limits,
        )
    except StatementError as e:
        send(_ERROR, (e.args, e.__dict__))
        return
    except BaseException:
        send(_FAILED, None)
        return
    try:
        packed = _pack(statement)
    except BaseException:
        send(_FAILED, None)
        return
    # The ints before the statement is sent (the parent, still busy with the shipments, would keep this
    # process waiting on the pipe), the repeats while the parent judges the lines. If this fails, the
    # matcher does it.
    ints, int_bytes = statement.int_waybills, None
    try:
        if ints is None:
            ints = matching.int_keys(statement.waybills)
            if ints is not None and max(map(len, statement.waybills)) <= INT64_DIGITS:
                int_bytes = array("q", ints).tobytes()
        else:
            int_bytes = ints.tobytes()
    except Exception:
        pass
    send(_RESULT, packed)
    send(_INTS, int_bytes)
    try:
        found = matching.repeats(statement.waybills if ints is None else ints)
    except Exception:
        found = None
    send(_REPEATS, found)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _pack(st: Statement) -> dict:
    n = len(st.waybills)
    joined = "\n".join(st.waybills)
    if joined.count("\n") != n - 1:
        raise ValueError("a waybill holds a line break")
    distinct, ids = st.field_table()
    first, last = st.line_nos[0], st.line_nos[-1]
    return {
        "waybills": joined.encode("utf-8", "surrogatepass"),
        "line_nos": first if last - first == n - 1 else array("q", st.line_nos).tobytes(),
        "distinct": list(distinct),
        "ids": array("H" if len(distinct) <= 1 << 16 else "q", ids).tobytes(),
        "ids_type": "H" if len(distinct) <= 1 << 16 else "q",
        "about": (st.filename, st.file_format, st.encoding, st.header_row),
        "money": (st.declared_total_fen, st.billed_fen),
    }


def _unpack(packed: dict, ints: bytes | None) -> Statement:
    waybills = packed["waybills"]
    n = len(waybills)
    first = packed["line_nos"]
    line_nos = range(first, first + n) if isinstance(first, int) else _numbers(first, "q").tolist()
    distinct = packed["distinct"]
    ids = _numbers(packed["ids"], packed["ids_type"])
    name, file_format, encoding, header_row = packed["about"]
    declared, billed = packed["money"]
    return Statement(
        line_nos,
        waybills,
        list(map(distinct.__getitem__, ids)),
        name,
        file_format,
        encoding,
        header_row,
        declared,
        billed,
        ids,
        distinct,
        int_waybills=None if ints is None else _numbers(ints, "q"),
    )


def _numbers(data: bytes, typecode: str) -> array:
    """Kept as an array: its ints are made as they are read, and go as soon as they are used."""
    values = array(typecode)
    values.frombytes(data)
    return values


class ParallelRead:
    """The parent's end: `poll()` relays progress so far, `result()` waits for the Statement."""

    def __init__(self, pid: int, fd: int, args: tuple):
        self.pid, self.fd, self.args = pid, fd, args
        self.on_progress: Progress | None = args[3]
        self.buffer = bytearray()
        self.eof = False
        self.outcome: tuple[bytes, object] | None = None
        self.ints: tuple[bytes | None] | None = None  # after a result
        self.found: tuple[list[list[int]] | None] | None = None  # the repeated waybills, after the ints
        self.finished = False  # the child sent its last message
        self.progress_error: BaseException | None = None

    def poll(self) -> None:
        """Read what the child has sent so far without waiting, relaying progress calls."""
        while not self.eof and self.outcome is None and select.select([self.fd], [], [], 0)[0]:
            self._read_some()
            self._handle()

    def result(self) -> Statement:
        """The statement (or its error); the child then works out the repeated waybills (`repeats`)."""
        if self.progress_error is not None:
            raise self.progress_error
        try:
            self._wait(lambda: self.outcome is not None)
            if self.outcome is not None and self.outcome[0] == _RESULT:
                packed = self.outcome[1]
                packed["waybills"] = packed["waybills"].decode("utf-8", "surrogatepass").split("\n")
                self._wait(lambda: self.ints is not None)
                return _unpack(packed, (self.ints or (None,))[0])
        except BaseException:
            self.close()
            raise
        self.close()
        if self.outcome is None or self.outcome[0] == _FAILED:  # read it here: the same result or error
            source, filename, mapping, on_progress, limits = self.args
            return read_statement(
                source, filename=filename, mapping=mapping, on_progress=on_progress, limits=limits
            )
        args, attributes = self.outcome[1]
        error = StatementError.__new__(StatementError)
        error.args = args
        error.__dict__.update(attributes)
        raise error

    def repeats(self) -> list[list[int]] | None:
        """matching.repeats of the statement's waybills, None if the child could not tell."""
        try:
            self._wait(lambda: self.found is not None)
        finally:
            self.close()
        return (self.found or (None,))[0]

    def _wait(self, done: Callable[[], bool]) -> None:
        self._handle()
        while not self.eof and not done():
            self._read_some()
            self._handle()

    def close(self) -> None:
        """Stop the child if it still runs, and reap it."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        if self.pid:
            if not self.finished:
                try:
                    os.kill(self.pid, 9)
                except ProcessLookupError:
                    pass
            try:
                os.waitpid(self.pid, 0)
            except ChildProcessError:
                pass
            self.pid = 0

    def _read_some(self) -> None:
        wanted = 1 << 16
        if len(self.buffer) >= _HEADER.size:
            wanted = max(wanted, _HEADER.size + _HEADER.unpack_from(self.buffer)[1] - len(self.buffer))
        chunk = os.read(self.fd, min(wanted, 1 << 24))
        if not chunk:
            self.eof = True
        self.buffer += chunk

    def _handle(self) -> None:
        while len(self.buffer) >= _HEADER.size:
            tag, size = _HEADER.unpack_from(self.buffer)
            end = _HEADER.size + size
            if len(self.buffer) < end:
                return
            payload = pickle.loads(bytes(self.buffer[_HEADER.size : end]))
            del self.buffer[:end]
            if tag == _INTS:
                self.ints = (payload,)
                return
            if tag == _REPEATS:
                self.found, self.finished = (payload,), True
                return
            if tag == _PROGRESS:
                if self.on_progress:
                    try:
                        self.on_progress(*payload)
                    except BaseException as e:  # raised from read_statement when read in turn
                        self.progress_error = e
                        self.close()
                        raise
            else:
                self.outcome = (tag, payload)
                self.finished = tag != _RESULT
                return
