"""Webhook settings: off by default, a secret Telegram accepts, one clear line per mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings

SECRET = "s3cret_Token-42"
_NAMES = (
    "BOT_TOKEN", "TELEGRAM_API_URL", "DATABASE_URL", "ALLOWED_USER_IDS", "DEFAULT_TIMEZONE",
    "DEFAULT_LANGUAGE", "LOG_LEVEL", "WEBHOOK_URL", "WEBHOOK_SECRET", "WEBHOOK_HOST",
    "WEBHOOK_PORT", "PUBLIC_URL", "INTAKE_PORT",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in _NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BOT_TOKEN", "123:abc")


def error_for(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as error:
        load_settings(require_token=True)
    message = str(error.value)
    assert "\n" not in message
    return message


def test_polling_by_default() -> None:
    settings = load_settings(require_token=True)
    assert settings.webhook_url is None
    assert settings.webhook_secret is None
    assert settings.webhook_host == "127.0.0.1"
    assert settings.webhook_port == 8080


def test_blank_url_means_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOK_URL", "  ")
    monkeypatch.setenv("WEBHOOK_SECRET", "")
    assert load_settings(require_token=True).webhook_url is None


def test_webhook_from_env_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "WEBHOOK_URL= https://bot.example.com/telegram/hook \n"
        f"WEBHOOK_SECRET={SECRET}\nWEBHOOK_HOST=0.0.0.0\nWEBHOOK_PORT=8443\n"
    )
    settings = load_settings(require_token=True)
    assert settings.webhook_url == "https://bot.example.com/telegram/hook"
    assert settings.webhook_path == "/telegram/hook"
    assert settings.webhook_secret is not None
    assert settings.webhook_secret.get_secret_value() == SECRET
    assert settings.webhook_host == "0.0.0.0"
    assert settings.webhook_port == 8443
    assert SECRET not in repr(settings)


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("https://bot.example.com", "/"),
        ("https://bot.example.com/", "/"),
        ("https://bot.example.com:8443/tg?x=1", "/tg"),
    ],
)
def test_path_comes_from_the_url(monkeypatch: pytest.MonkeyPatch, url: str, path: str) -> None:
    monkeypatch.setenv("WEBHOOK_URL", url)
    monkeypatch.setenv("WEBHOOK_SECRET", SECRET)
    assert load_settings(require_token=True).webhook_path == path


@pytest.mark.parametrize("secret", ["a", "A" * 256, "abc-DEF_123", "-_-"])
def test_secrets_telegram_accepts(monkeypatch: pytest.MonkeyPatch, secret: str) -> None:
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.com/telegram")
    monkeypatch.setenv("WEBHOOK_SECRET", secret)
    settings = load_settings(require_token=True)
    assert settings.webhook_secret is not None
    assert settings.webhook_secret.get_secret_value() == secret


@pytest.mark.parametrize("secret", ["", "   "])
def test_url_without_a_secret_is_refused(monkeypatch: pytest.MonkeyPatch, secret: str) -> None:
    message = error_for(
        monkeypatch, WEBHOOK_URL="https://bot.example.com/telegram", WEBHOOK_SECRET=secret
    )
    assert message.startswith("WEBHOOK_SECRET is invalid (must be set when WEBHOOK_URL is set)")
    assert "token_urlsafe" in message


def test_url_without_any_secret_variable_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    message = error_for(monkeypatch, WEBHOOK_URL="https://bot.example.com/telegram")
    assert message.startswith("WEBHOOK_SECRET is invalid (must be set")


@pytest.mark.parametrize(
    "secret", ["A" * 257, "has space", "slash/no", "dot.no", "plus+no", "ключ", "a=b"]
)
def test_secrets_telegram_refuses(monkeypatch: pytest.MonkeyPatch, secret: str) -> None:
    message = error_for(
        monkeypatch, WEBHOOK_URL="https://bot.example.com/telegram", WEBHOOK_SECRET=secret
    )
    assert message.startswith("WEBHOOK_SECRET is invalid (must be 1 to 256 characters")
    assert secret not in message


def test_a_bad_secret_is_refused_even_without_url(monkeypatch: pytest.MonkeyPatch) -> None:
    message = error_for(monkeypatch, WEBHOOK_SECRET="no spaces please")
    assert message.startswith("WEBHOOK_SECRET is invalid")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://bot.example.com/telegram", "must start with https://"),
        ("bot.example.com/telegram", "must start with https://"),
        ("https:///telegram", "has no host name"),
        ("https://bot.example.com/telegram#x", "must not contain #"),
        ("https://bot.example.com:8080/telegram", "Telegram only calls ports"),
    ],
)
def test_bad_urls_name_the_variable(
    monkeypatch: pytest.MonkeyPatch, url: str, reason: str
) -> None:
    message = error_for(monkeypatch, WEBHOOK_URL=url, WEBHOOK_SECRET=SECRET)
    assert message.startswith(f"WEBHOOK_URL is invalid ({reason}")
    assert "https://bot.example.com/telegram" in message  # the hint shows an example


def test_a_self_hosted_bot_api_may_call_http_and_any_port(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TELEGRAM_API_URL", "http://localhost:8081")
    monkeypatch.setenv("WEBHOOK_URL", "http://10.0.0.5:8080/telegram")
    monkeypatch.setenv("WEBHOOK_SECRET", SECRET)
    settings = load_settings(require_token=True)
    assert settings.webhook_path == "/telegram"


@pytest.mark.parametrize("port", ["0", "65536", "http"])
def test_bad_port(monkeypatch: pytest.MonkeyPatch, port: str) -> None:
    message = error_for(monkeypatch, WEBHOOK_PORT=port)
    assert message.startswith("WEBHOOK_PORT is invalid")


def test_public_url_defaults_to_the_webhook_origin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.com:8443/telegram/hook")
    monkeypatch.setenv("WEBHOOK_SECRET", SECRET)
    assert load_settings(require_token=True).public_origin == "https://bot.example.com:8443"


def test_public_url_wins_and_loses_its_trailing_slash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLIC_URL", "https://board.example.com/")
    monkeypatch.setenv("INTAKE_PORT", "8081")
    assert load_settings(require_token=True).public_origin == "https://board.example.com"


def test_polling_without_public_url_has_no_origin() -> None:
    assert load_settings(require_token=True).public_origin is None


@pytest.mark.parametrize("url", ["ftp://bot.example.com", "bot.example.com", "https://x?a=1"])
def test_a_bad_public_url_is_refused(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    assert error_for(monkeypatch, PUBLIC_URL=url).startswith("PUBLIC_URL is invalid")


def test_public_url_when_polling_needs_the_intake_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    message = error_for(monkeypatch, PUBLIC_URL="https://bot.example.com")
    assert "set INTAKE_PORT" in message
