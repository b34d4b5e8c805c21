"""The column types every store maps through: money stored alike on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest
import sqlalchemy as sa

from spx_pipeline.storage.app.bulk import insert_columns, read_columns
from spx_pipeline.storage.app.database import AppDatabase
from spx_pipeline.storage.app.tables import Money

# (what is written, what both engines read back): halves away from zero, as PostgreSQL rounds.
ROUNDED = [
    (Decimal("0.02745"), Decimal("0.0275")),
    (Decimal("-0.02745"), Decimal("-0.0275")),
    (Decimal("1.00005"), Decimal("1.0001")),
    (Decimal("0.00004"), Decimal("0.0000")),
    (Decimal("0.000049999"), Decimal("0.0000")),
    (2.675, Decimal("2.6750")),  # a float is taken as it prints, not as its binary value
    ("12345678901.23455", Decimal("12345678901.2346")),
    (Decimal("6.20"), Decimal("6.2000")),
]


@pytest.fixture
def probe(app_db: AppDatabase) -> sa.Table:
    """A scratch table with one money column, on the app database under test."""
    columns = [sa.Column("id", sa.Integer, primary_key=True), sa.Column("amount", Money())]
    table = sa.Table("money_probe", sa.MetaData(), *columns)
    table.create(app_db.engine)
    return table


def _amounts(app_db: AppDatabase, probe: sa.Table) -> list[Decimal | None]:
    with app_db.engine.connect() as conn:
        return list(conn.execute(sa.select(probe.c.amount).order_by(probe.c.id)).scalars())


def test_money_is_rounded_to_four_places_alike_on_both_engines(app_db: AppDatabase, probe: sa.Table) -> None:
    with app_db.engine.begin() as conn:
        conn.execute(sa.insert(probe), [{"id": i, "amount": v} for i, (v, _) in enumerate(ROUNDED)])
    assert _amounts(app_db, probe) == [expected for _, expected in ROUNDED]
    if app_db.dialect == "sqlite":  # the stored number itself, not only its reading, drops the digits
        with app_db.engine.connect() as conn:
            stored = conn.exec_driver_sql("SELECT CAST(amount AS TEXT) FROM money_probe WHERE id = 0")
            assert stored.scalar() == "0.0275"


@pytest.mark.parametrize("value", [Decimal("1e14"), "99999999999999.99995", Decimal("-1e20"), 1e30])
def test_money_past_fourteen_digits_fails_on_both_engines_naming_it(
    app_db: AppDatabase, probe: sa.Table, value: object
) -> None:
    rows = [{"id": 1, "amount": Decimal("1.5")}, {"id": 2, "amount": value}]
    with (
        pytest.raises(sa.exc.StatementError, match=r"does not fit NUMERIC\(18,4\)") as caught,
        app_db.engine.begin() as conn,
    ):
        conn.execute(sa.insert(probe), rows)
    assert repr(value) in str(caught.value)
    assert _amounts(app_db, probe) == []  # the batch rolled back whole


def test_the_largest_amount_that_fits_is_stored(app_db: AppDatabase, probe: sa.Table) -> None:
    with app_db.engine.begin() as conn:
        conn.execute(sa.insert(probe), [{"id": 1, "amount": Decimal("-99999999999.9999")}])
    assert _amounts(app_db, probe) == [Decimal("-99999999999.9999")]


def test_bulk_insert_of_a_frame_column_stores_each_value(app_db: AppDatabase, probe: sa.Table) -> None:
    """A Series yields a new float for each value; the identity-keyed conversion must not mistake
    one for an earlier value whose id was freed and reused."""
    amounts = pd.Series([1.1, 2.2, 3.3, 4.4, 5.5, 6.6])
    with app_db.engine.begin() as conn:
        insert_columns(conn, probe, {"id": pd.Series(range(6)), "amount": amounts})
    with app_db.engine.connect() as conn:
        read = read_columns(conn, sa.select(probe.c.amount).order_by(probe.c.id))["amount"]
    assert read == [Decimal(str(v)).quantize(Decimal("0.0001")) for v in amounts]


def test_an_amount_sqlite_kept_whole_before_reads_back_as_postgresql_stores_it(
    sqlite_app_db: AppDatabase,
) -> None:
    """Rows written before amounts were rounded on the way in still hold every digit on SQLite; they
    read back rounded as the bind rounds (halves away from zero), not to the even digit."""
    columns = [sa.Column("id", sa.Integer, primary_key=True), sa.Column("amount", Money())]
    table = sa.Table("money_probe", sa.MetaData(), *columns)
    table.create(sqlite_app_db.engine)
    with sqlite_app_db.engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO money_probe (id, amount) VALUES (1, '0.02745'), (2, '-0.00125')")
    assert _amounts(sqlite_app_db, table) == [Decimal("0.0275"), Decimal("-0.0013")]
