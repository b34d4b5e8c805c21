"""The app database on PostgreSQL behaves exactly as on SQLite: migrations, credentials CLI, pipeline.

One parametrized suite (``app_db_url`` runs once per engine) so a dialect difference shows up as
one engine failing the same assertions, not as a separate test nobody compares.
"""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
import sqlalchemy as sa

from spx_pipeline.cli import main
from spx_pipeline.emulator import demo_accounts
from spx_pipeline.storage.app.migrations import load_migrations
from spx_pipeline_tests.fixtures.pipeline import PipelineEnvFactory


def schema_of(url: str) -> dict[str, list[str]]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        inspector = sa.inspect(engine)
        return {
            t: sorted(c["name"] for c in inspector.get_columns(t))
            for t in sorted(inspector.get_table_names())
        }
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_db_upgrade_on_an_empty_postgres_database_applies_every_migration_then_nothing(
    pg_database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    names = [m.name for m in load_migrations()]
    assert schema_of(pg_database_url) == {}
    assert main(["db", "upgrade", "--url", pg_database_url]) == 0
    assert capsys.readouterr().out.split() == [w for name in names for w in ("applied", name)]
    schema = schema_of(pg_database_url)
    assert {"schema_migrations", "broker_credentials", "spx_setup_instances"} <= set(schema)
    engine = sa.create_engine(pg_database_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        recorded = (
            conn.execute(sa.text("SELECT name FROM schema_migrations ORDER BY version")).scalars().all()
        )
    assert recorded == names

    assert main(["db", "upgrade", "--url", pg_database_url]) == 0
    assert "is up to date" in capsys.readouterr().out
    assert schema_of(pg_database_url) == schema
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM schema_migrations")).scalar() == len(names)
    engine.dispose()


def test_credentials_cli_and_portfolio_sync_are_the_same_on_both_engines(
    app_db_url: str,
    pipeline_env_factory: PipelineEnvFactory,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = pipeline_env_factory(app_db_url=app_db_url)  # demo accounts stored through the store

    def cli(*argv: str, stdin: str = "") -> str:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = main([*argv, "--db-url", app_db_url])
        out, err = capsys.readouterr()
        assert code == 0, err
        return out

    listed = cli("credentials", "list").strip().splitlines()[1:]
    assert sorted(line.split()[0] for line in listed) == [a.account_id for a in env.accounts]
    added = cli(
        "credentials", "add", "--account-id", "VA00000009", "--label", "stale", stdin="not-known-tok\n"
    )
    assert "added VA00000009" in added
    margin, cash, pdt = env.accounts
    assert cli("credentials", "rotate", margin.account_id, stdin=margin.token + "\n").startswith("rotated")
    assert cli("credentials", "deactivate", cash.account_id).strip() == f"deactivated {cash.account_id}"

    result = env.run("portfolio_sync_job")
    assert result.success
    wh = env.warehouse()
    creds = wh.query("SELECT account_id, is_active FROM broker_credentials ORDER BY account_id")
    assert list(creds.itertuples(index=False, name=None)) == [
        (margin.account_id, True),
        (cash.account_id, False),
        (pdt.account_id, True),
        ("VA00000009", True),
    ]
    snapshots = wh.query(
        "SELECT account_id, account_type, option_buying_power, total_equity FROM portfolio_snapshots "
        "WHERE run_id = ? ORDER BY account_id",
        [result.run_id],
    )
    expected = [
        (a.account_id, a.account_type, a.effective_option_buying_power, a.total_equity)
        for a in demo_accounts()
        if a.account_id in {margin.account_id, pdt.account_id}
    ]
    got = [
        (
            row.account_id,
            row.account_type,
            Decimal(str(row.option_buying_power)),
            Decimal(str(row.total_equity)),
        )
        for row in snapshots.itertuples(index=False)
    ]
    assert got == expected
    failures = wh.query(
        "SELECT account_id, error_class, http_status FROM sync_failures WHERE run_id = ?", [result.run_id]
    )
    assert list(failures.itertuples(index=False, name=None)) == [("VA00000009", "TradierAuthError", 401)]
