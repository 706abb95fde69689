"""`certpost db backup PATH`: a consistent copy of a live SQLite database (SQLite's online backup API).

The copy is taken in one step of `sqlite3_backup_step(-1)`, that is inside one read transaction: in WAL
mode the gateway's writers go on meanwhile, and the copy holds exactly what was committed when the step
began (every dispatch answered 201 before then). Copied step by step instead, every write of another
process would restart the copy, which under steady intake might never end.

The copy is written beside the target under a temporary name, switched to a rollback journal (one
self-contained file, no -wal beside it), checked with `PRAGMA integrity_check`, synced, and only then
renamed to the target: a file at the target is always a whole, checked backup."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


class BackupRefused(Exception):
    """Bad usage: the command exits 2 with this one-line reason."""


@dataclass(frozen=True)
class BackupDone:
    target: Path
    pages: int
    bytes: int


def sqlite_file(database_url: str) -> Path:
    """The database file a `sqlite+aiosqlite:///…` URL names; anything else is refused with the reason."""
    try:
        url = make_url(database_url)
    except ArgumentError:
        raise BackupRefused("CERTPOST_DATABASE_URL 不是有效的数据库地址") from None
    if url.get_backend_name() == "postgresql":
        raise BackupRefused(
            "certpost db backup 只用于 SQLite；PostgreSQL 请用 pg_dump 备份"
            "（pg_dump -Fc -f certpost.dump 数据库名，恢复用 pg_restore，见 README“部署”）"
        )
    if url.get_backend_name() != "sqlite":
        raise BackupRefused(f"certpost db backup 只用于 SQLite，当前数据库为 {url.get_backend_name()}")
    if url.database in (None, "", ":memory:"):
        raise BackupRefused("内存中的 SQLite 数据库无法备份")
    source = Path(url.database)
    if not source.is_file():
        raise BackupRefused(f"数据库文件 {source} 不存在")
    return source


def backup(source: Path, target: Path) -> BackupDone:
    """Copy `source` to `target` (which must not exist yet) while the gateway may be writing."""
    if target.exists():
        raise BackupRefused(f"{target} 已存在，不会覆盖；请指定新的文件名")
    if not target.parent.is_dir():
        raise BackupRefused(f"目录 {target.parent} 不存在")
    if target.resolve() == source.resolve():
        raise BackupRefused("备份文件不能是数据库本身")
    partial = target.with_name(f".{target.name}.partial-{os.getpid()}")
    try:
        try:
            pages = _copy(source, partial)
        except sqlite3.DatabaseError as e:
            raise BackupRefused(f"无法读取数据库 {source}：{e}") from None
        _check(partial)
        _sync(partial)
        os.replace(partial, target)
        _sync_dir(target.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    return BackupDone(target, pages, target.stat().st_size)


def _copy(source: Path, partial: Path) -> int:
    # Not read-only (mode=ro): a WAL reader needs the -shm index, which a read-only open may not create.
    src = sqlite3.connect(source, timeout=30)
    dst = sqlite3.connect(partial)
    try:
        src.backup(dst, pages=-1)  # one step: one read transaction, one consistent snapshot
        dst.execute("PRAGMA journal_mode=DELETE")  # the copy is one file, without a -wal beside it
        return dst.execute("PRAGMA page_count").fetchone()[0]
    finally:
        dst.close()
        src.close()


def _check(path: Path) -> None:
    conn = sqlite3.connect(path)
    try:
        result = [row[0] for row in conn.execute("PRAGMA integrity_check")]
    finally:
        conn.close()
    if result != ["ok"]:
        raise RuntimeError("the backup copy failed its integrity check")


def _sync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
