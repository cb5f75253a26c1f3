"""SQLite state for every simulator, so side effects can be counted across process restarts."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from typing import Any

Record = dict[str, Any]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    system TEXT NOT NULL, kind TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL, created REAL NOT NULL,
    PRIMARY KEY (system, kind, id));
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS idempotency (
    system TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL, status INTEGER NOT NULL,
    body TEXT NOT NULL, created REAL NOT NULL, PRIMARY KEY (system, key));
CREATE TABLE IF NOT EXISTS requests (
    system TEXT NOT NULL, method TEXT NOT NULL, path TEXT NOT NULL, status INTEGER NOT NULL,
    count INTEGER NOT NULL, PRIMARY KEY (system, method, path, status));
CREATE TABLE IF NOT EXISTS faults (id INTEGER PRIMARY KEY AUTOINCREMENT, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT, system TEXT NOT NULL, event_id TEXT NOT NULL, url TEXT NOT NULL,
    attempt INTEGER NOT NULL, status INTEGER, error TEXT, at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class Store:
    """A small document store on SQLite; one lock, since simulators are not the thing under test."""

    def __init__(self, path: str = ":memory:") -> None:
        self.path = path
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        if path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")  # readers and the writer don't block each other
        self._db.executescript(_SCHEMA)
        self._lock = threading.RLock()

    def _run(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # records
    def put(self, system: str, kind: str, record_id: str, data: Record) -> Record:
        self._run(
            "INSERT INTO records VALUES (?,?,?,?,?) ON CONFLICT(system,kind,id) DO UPDATE SET data=excluded.data",
            system,
            kind,
            record_id,
            json.dumps(data, default=str),
            time.time(),
        )
        return data

    def get(self, system: str, kind: str, record_id: str) -> Record | None:
        rows = self._run("SELECT data FROM records WHERE system=? AND kind=? AND id=?", system, kind, record_id)
        return json.loads(rows[0][0]) if rows else None

    def require(self, system: str, kind: str, record_id: str) -> Record:
        found = self.get(system, kind, record_id)
        if found is None:
            raise KeyError(f"no {system} {kind} {record_id!r} in the simulators' store")
        return found

    def delete(self, system: str, kind: str, record_id: str) -> bool:
        with self._lock:
            cursor = self._db.execute(
                "DELETE FROM records WHERE system=? AND kind=? AND id=?", (system, kind, record_id)
            )
            return cursor.rowcount > 0

    def all(self, system: str, kind: str) -> list[Record]:
        rows = self._run("SELECT data FROM records WHERE system=? AND kind=? ORDER BY created, id", system, kind)
        return [json.loads(row[0]) for row in rows]

    def find(self, system: str, kind: str, field: str, value: Any) -> list[Record]:
        """Records whose JSON `field` (a dotted path) equals `value`."""
        rows = self._run(
            "SELECT data FROM records WHERE system=? AND kind=? AND json_extract(data, ?) = ? ORDER BY created, id",
            system,
            kind,
            f"$.{field}",
            value,
        )
        return [json.loads(row[0]) for row in rows]

    def count(self, system: str, kind: str) -> int:
        return int(self._run("SELECT count(*) FROM records WHERE system=? AND kind=?", system, kind)[0][0])

    def next_id(self, name: str, start: int = 1000) -> int:
        with self._lock:
            self._db.execute(
                "INSERT INTO counters VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + 1",
                (name, start),
            )
            return int(self._db.execute("SELECT value FROM counters WHERE name=?", (name,)).fetchone()[0])

    # idempotency
    def saved_response(self, system: str, key: str) -> tuple[str, int, str] | None:
        rows = self._run("SELECT fingerprint, status, body FROM idempotency WHERE system=? AND key=?", system, key)
        return (rows[0][0], int(rows[0][1]), rows[0][2]) if rows else None

    def save_response(self, system: str, key: str, fingerprint: str, status: int, body: str) -> None:
        self._run(
            "INSERT OR IGNORE INTO idempotency VALUES (?,?,?,?,?,?)",
            system,
            key,
            fingerprint,
            status,
            body,
            time.time(),
        )

    # request counts
    def count_request(self, system: str, method: str, path: str, status: int) -> None:
        self._run(
            "INSERT INTO requests VALUES (?,?,?,?,1) ON CONFLICT(system,method,path,status) "
            "DO UPDATE SET count = count + 1",
            system,
            method,
            path,
            status,
        )

    def request_counts(self, system: str | None = None) -> list[Record]:
        sql = "SELECT system, method, path, status, count FROM requests"
        rows = self._run(sql + " WHERE system=? ORDER BY path", system) if system else self._run(sql)
        return [dict(zip(("system", "method", "path", "status", "count"), row, strict=True)) for row in rows]

    # faults
    def add_fault(self, fault: Record) -> int:
        with self._lock:
            cursor = self._db.execute("INSERT INTO faults (data) VALUES (?)", (json.dumps(fault),))
            return int(cursor.lastrowid or 0)

    def faults(self) -> list[Record]:
        return [{"id": row[0], **json.loads(row[1])} for row in self._run("SELECT id, data FROM faults ORDER BY id")]

    def update_fault(self, fault: Record) -> None:
        data = {k: v for k, v in fault.items() if k != "id"}
        self._run("UPDATE faults SET data=? WHERE id=?", json.dumps(data), fault["id"])

    def clear_faults(self, fault_id: int | None = None) -> None:
        if fault_id is None:
            self._run("DELETE FROM faults")
        else:
            self._run("DELETE FROM faults WHERE id=?", fault_id)

    # webhook deliveries
    def record_delivery(
        self, system: str, event_id: str, url: str, attempt: int, status: int | None, error: str | None
    ) -> None:
        self._run(
            "INSERT INTO deliveries (system, event_id, url, attempt, status, error, at) VALUES (?,?,?,?,?,?,?)",
            system,
            event_id,
            url,
            attempt,
            status,
            error,
            time.time(),
        )

    def deliveries(self, system: str | None = None) -> list[Record]:
        sql = "SELECT system, event_id, url, attempt, status, error, at FROM deliveries"
        rows = self._run(sql + " WHERE system=? ORDER BY id", system) if system else self._run(sql + " ORDER BY id")
        keys = ("system", "event_id", "url", "attempt", "status", "error", "at")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    # settings (webhook targets and secrets)
    def set_setting(self, name: str, value: Any) -> None:
        self._run(
            "INSERT INTO settings VALUES (?,?) ON CONFLICT(name) DO UPDATE SET value=excluded.value",
            name,
            json.dumps(value),
        )

    def setting(self, name: str, default: Any = None) -> Any:
        rows = self._run("SELECT value FROM settings WHERE name=?", name)
        return json.loads(rows[0][0]) if rows else default

    def reset(self) -> None:
        with self._lock:
            for table in ("records", "counters", "idempotency", "requests", "faults", "deliveries"):
                self._db.execute(f"DELETE FROM {table}")
