"""Reading migration files: statement splitting, naming rules, checksums."""

from __future__ import annotations

from pathlib import Path

import pytest

from spx_pipeline.storage.app.migrations import MigrationError, load_migrations, split_statements


def test_split_on_semicolon_at_line_end_and_drop_comment_lines() -> None:
    sql = """
-- leading comment; not a statement
CREATE TABLE a (
    x TEXT DEFAULT 'a;b'
);

INSERT INTO a (x) VALUES ('1');
"""
    assert split_statements(sql) == [
        "CREATE TABLE a (\n    x TEXT DEFAULT 'a;b'\n)",
        "INSERT INTO a (x) VALUES ('1')",
    ]


def test_unterminated_last_statement_is_an_error_naming_the_file() -> None:
    with pytest.raises(MigrationError, match=r"0009_x\.sql.*does not end with ';'"):
        split_statements("CREATE TABLE a (x TEXT);\nCREATE TABLE b (y TEXT)", source="0009_x.sql")


def test_shipped_migrations_are_ordered_and_start_with_credentials() -> None:
    migrations = load_migrations()
    assert [m.version for m in migrations] == list(range(1, len(migrations) + 1))
    assert migrations[0].name == "0001_broker_credentials.sql"
    assert all(len(m.checksum) == 64 for m in migrations)


def _write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text, encoding="utf-8")


def test_checksum_ignores_comments_and_whitespace_but_not_statements(tmp_path: Path) -> None:
    one, two, three = (tmp_path / n for n in ("one", "two", "three"))
    for folder in (one, two, three):
        folder.mkdir()
    _write(one, "0001_a.sql", "CREATE TABLE a (x TEXT);\n")
    _write(two, "0001_a.sql", "-- explained now\r\nCREATE TABLE a  (x TEXT);\r\n")
    _write(three, "0001_a.sql", "CREATE TABLE a (x INTEGER);\n")
    [a], [b], [c] = load_migrations(one), load_migrations(two), load_migrations(three)
    assert a.checksum == b.checksum
    assert a.checksum != c.checksum


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"1_short.sql": "SELECT 1;"}, "does not match NNNN_description.sql"),
        ({"0001_a.sql": "SELECT 1;", "0001_b.sql": "SELECT 2;"}, "0001 is used by both"),
        ({"0001_empty.sql": "-- nothing\n"}, "contains no statements"),
    ],
)
def test_bad_migration_directories_are_refused(tmp_path: Path, files: dict[str, str], message: str) -> None:
    for name, text in files.items():
        _write(tmp_path, name, text)
    with pytest.raises(MigrationError, match=message):
        load_migrations(tmp_path)


def test_missing_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(MigrationError, match="does not exist"):
        load_migrations(tmp_path / "nope")
