"""App-database migrations on SQLite and PostgreSQL: apply, no-op re-run, drift, rollback."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from spx_pipeline.storage.app.database import SQLITE_CACHE_KIB, AppDatabase, MigrationError
from spx_pipeline.storage.app.migrations import load_migrations
from spx_pipeline.storage.paths import APP_MIGRATIONS_DIR

EXPECTED_TABLES = {"schema_migrations", "broker_credentials", "app_counters", "portfolio_snapshots",
                   "spx_setup_instances"}  # fmt: skip


def _tables(db: AppDatabase) -> set[str]:
    return set(sa.inspect(db.engine).get_table_names())


def _copy_migrations(tmp_path: Path) -> Path:
    folder = tmp_path / "migrations"
    shutil.copytree(APP_MIGRATIONS_DIR, folder)
    return folder


def test_upgrade_on_empty_database_applies_everything_then_nothing(app_db_url: str) -> None:
    db = AppDatabase(app_db_url)
    try:
        names = [m.name for m in load_migrations()]
        assert db.current_version() == 0
        assert db.pending() == names
        assert db.upgrade() == names
        assert _tables(db) >= EXPECTED_TABLES
        assert db.upgrade() == []
        assert db.pending() == []
        assert db.current_version() == len(names)
        assert {s.state for s in db.status()} == {"applied"}
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("spx_setup_instances")}
        assert {"broker_order_id", "entry_fill_price", "entry_slippage", "executed_at"} <= columns
    finally:
        db.dispose()


def test_environment_check_constraint_is_enforced(app_db: AppDatabase) -> None:
    insert = sa.text(
        "INSERT INTO broker_credentials (account_id, environment, token_ciphertext, token_fingerprint, "
        "is_active, created_at, updated_at, change_seq) "
        "VALUES ('A', 'paper', 'c', 'f', TRUE, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1)"
    )
    with pytest.raises(sa.exc.IntegrityError), app_db.engine.begin() as conn:
        conn.execute(insert)


def test_every_sqlite_connection_keeps_a_page_cache_a_days_planning_fits_in(
    sqlite_app_db: AppDatabase,
) -> None:
    """Two connections at once (the pool opens a second): each has the larger cache and foreign keys."""
    first, second = sqlite_app_db.engine.raw_connection(), sqlite_app_db.engine.raw_connection()
    try:
        for conn in (first, second):
            assert conn.execute("PRAGMA cache_size").fetchone()[0] == -SQLITE_CACHE_KIB
            assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    finally:
        first.close()
        second.close()


def test_changed_applied_migration_is_a_clear_error(app_db_url: str, tmp_path: Path) -> None:
    folder = _copy_migrations(tmp_path)
    db = AppDatabase(app_db_url, migrations_dir=folder)
    try:
        db.upgrade()
        path = folder / "0002_portfolio_snapshots.sql"
        path.write_text(path.read_text().replace("run_id                  TEXT", "run_id TEXT NOT NULL"))
        with pytest.raises(
            MigrationError, match=r"0002_portfolio_snapshots\.sql was changed after it was applied"
        ):
            db.upgrade()
        assert [s.state for s in db.status()][1] == "changed"
    finally:
        db.dispose()


def test_failing_migration_rolls_back_entirely_and_applies_after_fix(app_db_url: str, tmp_path: Path) -> None:
    folder = _copy_migrations(tmp_path)
    broken = folder / "9001_broken.sql"
    broken.write_text("CREATE TABLE half_done (x TEXT);\nALTER TABLE no_such_table ADD COLUMN y TEXT;\n")
    db = AppDatabase(app_db_url, migrations_dir=folder)
    try:
        with pytest.raises(MigrationError, match=r"9001_broken\.sql failed .*rolled back"):
            db.upgrade()
        assert "half_done" not in _tables(db)
        assert db.current_version() == int(load_migrations()[-1].name[:4])
        assert db.pending() == ["9001_broken.sql"]
        broken.write_text("CREATE TABLE half_done (x TEXT);\nALTER TABLE half_done ADD COLUMN y TEXT;\n")
        assert db.upgrade() == ["9001_broken.sql"]
        assert "half_done" in _tables(db)
    finally:
        db.dispose()


def test_database_newer_than_code_is_refused(app_db_url: str, tmp_path: Path) -> None:
    folder = _copy_migrations(tmp_path)
    (folder / "9002_future.sql").write_text("CREATE TABLE future (x TEXT);\n")
    newer = AppDatabase(app_db_url, migrations_dir=folder)
    older = AppDatabase(app_db_url)
    try:
        newer.upgrade()
        with pytest.raises(MigrationError, match=r"does not know \(9002_future\.sql\)"):
            older.upgrade()
        assert older.status()[-1].state == "unknown"
    finally:
        newer.dispose()
        older.dispose()


def test_default_url_is_sqlite_under_data_of_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SPX_APP_DB_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    db = AppDatabase()
    try:
        assert db.url == "sqlite:///data/app.sqlite"
        db.upgrade()
        assert (tmp_path / "data" / "app.sqlite").is_file()
    finally:
        db.dispose()


def test_env_url_is_used_and_password_is_masked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SPX_APP_DB_URL", f"sqlite:///{tmp_path / 'env.sqlite'}")
    assert AppDatabase().url.endswith("env.sqlite")
    db = AppDatabase("postgresql+psycopg2://spx:hunter2@db.example:5432/app")
    assert "hunter2" not in db.display_url
    assert "hunter2" not in repr(db)


def test_a_file_or_a_server_is_shared_by_threads_and_sqlites_memory_is_not(app_db_url: str) -> None:
    """Each thread that connects to ``:memory:`` gets a database of its own (what the trades' copy
    asks before reading on another thread)."""
    assert AppDatabase(app_db_url).shared_by_threads
    memory = AppDatabase("sqlite://")
    memory.upgrade()
    assert not memory.shared_by_threads
    seen: list[bool] = []

    def has_trades() -> None:
        with memory.engine.connect() as conn:
            seen.append(sa.inspect(conn).has_table("trades"))

    worker = threading.Thread(target=has_trades)
    worker.start()
    worker.join(60)
    has_trades()
    assert seen == [False, True]
