"""Back the plant's database up to one file, and restore it into an empty database, verified.

A backup is the whole database in one file: on PostgreSQL `pg_dump --format=custom` (schema,
rows, sequences, the history tables' append-only triggers), on the embedded SQLite file a copy
made through SQLite's online backup API (consistent while the server keeps writing).

A restore goes only into an *empty* database: restoring over a plant's live rows would mix two
histories, so a database with any table is refused before anything is written. After the rows are
back, the audit trail's hash chain is verified over them (`mes.seal.seal_verify`): a dump whose
history was changed after it was sealed does not come back as a database that looks healthy; it is
emptied again (or kept for inspection when asked) and the restore fails, naming the broken seal.

Nothing else needs replaying: the ERP outbox is rows like any other, so messages pending at the
time of the backup are sent after the restore with their original idempotency keys, and an ERP
that already had one of them answers it as a repeat.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection

from mes import seal
from mes.errors import MesError


class BackupError(MesError):
    """A backup or restore that cannot be done; the message says why and what to do."""


@dataclass
class Restored:
    """What a restore brought back, and the verification of its audit trail."""

    tables: int
    verification: seal.Verification
    kept_broken: bool = False
    notes: list[str] = field(default_factory=list)


def _pg_env() -> tuple[list[str], dict]:
    """Connection arguments and environment for pg_dump / pg_restore from Django's settings."""
    settings = connection.settings_dict
    args = ["--dbname", settings["NAME"]]
    if settings.get("HOST"):
        args += ["--host", settings["HOST"]]
    if settings.get("PORT"):
        args += ["--port", str(settings["PORT"])]
    if settings.get("USER"):
        args += ["--username", settings["USER"]]
    env = dict(os.environ)
    if settings.get("PASSWORD"):
        env["PGPASSWORD"] = settings["PASSWORD"]
    return args, env


def _run(command: list[str], env: dict | None = None) -> None:
    tool = command[0]
    if shutil.which(tool) is None:
        raise BackupError(f"{tool} is not installed on this machine; install the PostgreSQL client tools.")
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{tool} failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")


def backup(path: Path) -> Path:
    """Write the whole (default) database to `path` (refusing to overwrite an existing file)."""
    path = Path(path)
    if path.exists():
        raise BackupError(f"{path} already exists; a backup never overwrites another one.")
    path.parent.mkdir(parents=True, exist_ok=True)
    if connection.vendor == "postgresql":
        args, env = _pg_env()
        # --no-owner/--no-privileges: the dump restores under whichever role runs the restore.
        _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", "--file", str(path), *args], env)
    else:
        connection.ensure_connection()
        with sqlite3.connect(path) as target:
            connection.connection.backup(target)
        target.close()
    return path


def table_names() -> list[str]:
    with connection.cursor() as cursor:
        return connection.introspection.table_names(cursor)


def _refuse_unless_empty() -> None:
    tables = table_names()
    if tables:
        name = connection.settings_dict["NAME"]
        raise BackupError(
            f"database {name} is not empty ({len(tables)} tables, e.g. {tables[0]}): a restore goes only "
            "into an empty database (create a new one, e.g. `createdb`, and point DATABASE_URL at it). "
            "Nothing was written."
        )


def _empty() -> None:
    """Remove everything a failed restore wrote, so the database is empty again."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("DROP SCHEMA public CASCADE")
            cursor.execute("CREATE SCHEMA public AUTHORIZATION pg_database_owner")
            cursor.execute("GRANT USAGE ON SCHEMA public TO PUBLIC")
    else:
        path = Path(connection.settings_dict["NAME"])
        connection.close()
        path.unlink(missing_ok=True)


def restore(path: Path, *, keep_broken: bool = False) -> Restored:
    """Load the backup at `path` into the empty (default) database, then verify its audit trail.

    A broken seal empties the database again unless `keep_broken` (for inspecting the tampered
    rows); the result says which."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path} is not a backup file.")
    _refuse_unless_empty()
    if connection.vendor == "postgresql":
        args, env = _pg_env()
        connection.close()
        _run(
            [
                "pg_restore",
                "--no-owner",
                "--no-privileges",
                "--exit-on-error",
                "--single-transaction",
                *args,
                str(path),
            ],
            env,
        )
    else:
        try:
            with sqlite3.connect(path) as source:
                source.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{path} is not a backup of an SQLite database: {exc}") from exc
        connection.ensure_connection()
        with sqlite3.connect(path) as source:
            source.backup(connection.connection)
        source.close()
    # The chain decides a restore; records' own seals (a later, recorded edit) are the verify's to report.
    restored = Restored(tables=len(table_names()), verification=seal.seal_verify(sealed_records=False))
    if not restored.verification.ok:
        if keep_broken:
            restored.kept_broken = True
        else:
            _empty()
    return restored
