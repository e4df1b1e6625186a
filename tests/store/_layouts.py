"""Stores as older nbmodelbook versions left them, for upgrade tests."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def write_version_1_store(path: Path) -> None:
    """The layout schema version 1 wrote, holding one run named `old` (params {"a": 1})."""
    with sqlite3.connect(path) as connection:
        connection.executescript(
            "CREATE TABLE nbmb_meta (key VARCHAR(64) PRIMARY KEY, value TEXT NOT NULL);"
            "INSERT INTO nbmb_meta VALUES ('schema_version', '1');"
            "CREATE TABLE nbmb_runs (run_id VARCHAR(32) PRIMARY KEY, name VARCHAR(255) NOT NULL,"
            " status VARCHAR(16) NOT NULL, notebook TEXT, repo TEXT, cell_id VARCHAR(128),"
            " execution_count INTEGER, session_id VARCHAR(64), user VARCHAR(255),"
            " host VARCHAR(255), started_at FLOAT NOT NULL, ended_at FLOAT, duration FLOAT,"
            " code_hash VARCHAR(40), tags TEXT NOT NULL, note TEXT, params TEXT NOT NULL,"
            " metrics TEXT NOT NULL, error_type VARCHAR(255), error_message TEXT,"
            " env_hash VARCHAR(40));"
            "INSERT INTO nbmb_runs (run_id, name, status, started_at, tags, params, metrics)"
            " VALUES ('0123456789ab', 'old', 'ok', 1.0, '[]', '{\"a\": 1}', '{}');"
        )


def back_to_version_3(url: str) -> None:
    """Take a current store (SQLite or PostgreSQL) back to schema version 3: the layout before
    the evidence tables."""
    from sqlalchemy import create_engine, update

    from nbmodelbook.store import schema
    from nbmodelbook.store.backends import resolve_store_url

    url = resolve_store_url(url).replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url)
    with engine.begin() as connection:
        for table in reversed(schema.EVIDENCE_TABLES):
            table.drop(connection)
        connection.execute(
            update(schema.meta)
            .where(schema.meta.c.key == schema.SCHEMA_VERSION_KEY)
            .values(value="3")
        )
    engine.dispose()
