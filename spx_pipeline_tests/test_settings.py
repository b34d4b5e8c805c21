"""One settings object: every variable read in one pass, flags parsed one way, bad values named."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from spx_pipeline.broker.tradier.hosts import LIVE_BASE_URL, SANDBOX_BASE_URL, base_url_for
from spx_pipeline.clock import FixedClock, SystemClock
from spx_pipeline.settings import VARIABLES, SettingError, Settings, parse_flag


def test_every_field_has_its_public_variable_and_is_read_from_it() -> None:
    assert set(VARIABLES) == {f.name for f in dataclasses.fields(Settings)}
    env = {name: f"value-{name}" for name in VARIABLES.values()}
    env |= {"SPX_CREATE_DIRS": "yes", "TRADIER_ALLOW_LIVE": "TRUE", "TRADIER_PORTFOLIO_SYNC_ENABLED": "0"}
    settings = Settings.from_env(env)
    assert settings.app_db_url == "value-SPX_APP_DB_URL"
    assert settings.tradier_base_url == "value-TRADIER_BASE_URL"
    assert settings.market_data_account == "value-TRADIER_MARKET_DATA_ACCOUNT"
    assert (
        settings.create_dirs.enabled and settings.allow_live.enabled and not settings.portfolio_sync.enabled
    )
    assert settings.credentials_key == "value-SPX_CREDENTIALS_KEY"
    assert "value-SPX_CREDENTIALS_KEY'" not in repr(settings)  # the key never shows


def test_nothing_set_means_defaults_and_flags_off() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert not settings.allow_live.enabled and "not set" in settings.portfolio_sync.reason
    assert isinstance(settings.clock(), SystemClock)


@pytest.mark.parametrize(
    ("raw", "enabled"), [("1", True), (" On ", True), ("no", False), ("", False), ("maybe", False)]
)
def test_flags_parse_one_way(raw: str, enabled: bool) -> None:
    state = parse_flag("SOME_FLAG", raw)
    assert state.enabled is enabled
    assert state.reason.startswith(f"SOME_FLAG={raw!r}")


def test_a_bad_value_is_one_line_naming_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"^SPX_NOW='tomorrow' is not an ISO 8601 instant"):
        Settings.from_env({"SPX_NOW": "tomorrow"}).clock()
    assert isinstance(Settings.from_env({"SPX_NOW": "2026-11-26T15:00:00-05:00"}).clock(), FixedClock)
    missing = tmp_path / "nope.key"
    with pytest.raises(SettingError, match=rf"^SPX_CREDENTIALS_KEY_FILE='{missing}' does not exist$"):
        Settings.from_env({"SPX_CREDENTIALS_KEY_FILE": str(missing)}).read_credentials_key()
    key_file = tmp_path / "k"
    key_file.write_text("  the-key\n")
    assert Settings.from_env({"SPX_CREDENTIALS_KEY_FILE": str(key_file)}).read_credentials_key() == "the-key"
    both = {"SPX_CREDENTIALS_KEY": " direct ", "SPX_CREDENTIALS_KEY_FILE": str(missing)}
    assert Settings.from_env(both).read_credentials_key() == "direct"


def test_the_host_rule_the_sync_and_the_resource_share() -> None:
    nothing, local = Settings(), Settings(tradier_base_url="http://127.0.0.1:8787/v1")
    assert base_url_for("sandbox", settings=nothing) == SANDBOX_BASE_URL
    assert base_url_for("live", settings=nothing) == LIVE_BASE_URL
    assert base_url_for("live", settings=local) == "http://127.0.0.1:8787/v1"
    assert base_url_for("live", "http://127.0.0.1:1/v1", local) == "http://127.0.0.1:1/v1"
    with pytest.raises(ValueError, match="environment must be one of"):
        base_url_for("paper", settings=nothing)


@pytest.mark.parametrize(
    ("env", "shards"),
    [
        ({}, 1),  # in process: one step, as before
        ({"SPX_EXECUTOR": "celery"}, 16),
        ({"SPX_EXECUTOR": "multiprocess"}, 16),
        ({"SPX_EXECUTOR": "celery", "SPX_SYNC_SHARDS": "1"}, 1),
        ({"SPX_SYNC_SHARDS": " 4 "}, 4),
        ({"SPX_SYNC_SHARDS": ""}, 1),
    ],
)
def test_sync_shards_default_by_executor(env: dict[str, str], shards: int) -> None:
    assert Settings.from_env(env).sync_shard_count() == shards


@pytest.mark.parametrize("raw", ["0", "-3", "257", "four", "2.5"])
def test_a_bad_shard_count_is_one_line_naming_the_variable(raw: str) -> None:
    with pytest.raises(SettingError, match=rf"^SPX_SYNC_SHARDS='{raw}' is not a whole number from 1 to 256$"):
        Settings.from_env({"SPX_SYNC_SHARDS": raw}).sync_shard_count()
