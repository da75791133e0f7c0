"""`make run`'s generated development settings: read beneath the environment, never in
production."""

from __future__ import annotations

import pytest

from resolution.config import (
    Config,
    ConfigError,
    with_development_settings,
    write_development_settings,
)


def test_the_generated_secret_is_found_by_every_later_command(tmp_path):
    path = tmp_path / "var" / "development.env"
    assert write_development_settings({}, path)
    assert not write_development_settings({}, path), "generated once, then kept"
    settings = with_development_settings({}, path)
    assert len(settings["RESOLUTION_JWT_SECRET"]) >= 32
    assert Config.from_env(settings).jwt_secret == settings["RESOLUTION_JWT_SECRET"]
    assert path.stat().st_mode & 0o077 == 0, "the secret is the owner's alone"


def test_what_is_exported_wins_over_the_file(tmp_path):
    path = tmp_path / "development.env"
    write_development_settings({}, path)
    exported = {"RESOLUTION_JWT_SECRET": "x" * 40, "RESOLUTION_WEBHOOK_ALLOW_PRIVATE": "0"}
    settings = with_development_settings(exported, path)
    assert settings["RESOLUTION_JWT_SECRET"] == "x" * 40
    assert not Config.from_env(settings).webhooks_allow_private


def test_production_reads_no_development_file_and_wants_a_real_secret(tmp_path):
    path = tmp_path / "development.env"
    write_development_settings({}, path)
    production = {"RESOLUTION_ENV": "production"}
    assert with_development_settings(production, path) == production
    assert not write_development_settings(production, path.with_name("other.env"))
    with pytest.raises(ConfigError, match="RESOLUTION_JWT_SECRET is not set"):
        Config.from_env(with_development_settings(production, path))


def test_an_exported_secret_needs_no_file(tmp_path):
    path = tmp_path / "development.env"
    assert not write_development_settings({"RESOLUTION_JWT_SECRET": "y" * 40}, path)
    assert not path.exists()


def test_an_unknown_environment_is_refused():
    with pytest.raises(ConfigError, match="development or production"):
        Config.from_env({"RESOLUTION_ENV": "prod", "RESOLUTION_JWT_SECRET": "z" * 40})


def test_the_settings_hold_a_master_key_and_an_older_file_gets_one(tmp_path):
    path = tmp_path / "development.env"
    assert write_development_settings({}, path)
    key = with_development_settings({}, path)["RESOLUTION_MASTER_KEY"]
    assert Config.from_env(with_development_settings({}, path)).master_key == key
    older = tmp_path / "older.env"
    older.write_text("RESOLUTION_JWT_SECRET=" + "s" * 40 + "\n")
    assert write_development_settings({}, older), "a master key is added"
    settings = with_development_settings({}, older)
    assert len(settings["RESOLUTION_MASTER_KEY"]) == 64
    assert settings["RESOLUTION_JWT_SECRET"] == "s" * 40
    assert not write_development_settings({}, older)
