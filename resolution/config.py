"""Configuration, read from the environment once, when the app or a command starts."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from .domain.deadlines import Deadlines, parse_duration
from .domain.evidence import Limits
from .domain.identifiers import CHANNEL
from .domain.orders import Window, Windows
from .domain.policy import Policy, PolicyError, parse_policy
from .domain.retention import FILE_KINDS, Retention

DEFAULT_DATA_DIR = Path("var/db")
# What `make run` (`resolution seed-demo`) generates for development, read beneath the
# environment unless RESOLUTION_ENV=production; git-ignored with the rest of `var/`.
DEVELOPMENT_SETTINGS = Path("var/development.env")
ENVIRONMENTS = ("development", "production")
OFF = ("off", "0", "none", "")


class ConfigError(ValueError):
    """A setting is missing or malformed; the message says which and how to fix it."""


@dataclass(frozen=True)
class RateLimits:
    """Per-caller limits in Flask-Limiter's notation ("120/minute"); None switches one off.

    `writes` counts every POST, PUT, PATCH and DELETE under /v1 and every console form;
    `uploads` counts evidence uploads on top. The counts live in `database`, on the same
    server as the service's own data, so every worker and every copy shares them.
    """

    writes: str | None = "120/minute"
    uploads: str | None = "30/minute"
    database: str = "resolution_limits"
    # How often each process shares its counts (store/limits.py): the bound on how late one
    # process learns of another's entries, and so on a burst's overshoot across processes.
    sync_interval: timedelta = timedelta(milliseconds=500)

    @property
    def enabled(self) -> bool:
        return bool(self.writes or self.uploads)


@dataclass(frozen=True)
class TokenPolicy:
    """How tokens are checked: the key, and the issuer and audience when configured, with a
    small allowance for clocks that disagree (`exp`, `nbf`, `iat`)."""

    secret: str
    issuer: str | None = None
    audience: str | None = None
    leeway: timedelta = timedelta(seconds=30)


@dataclass(frozen=True)
class Config:
    jwt_secret: str
    mongodb_uri: str | None = None
    db_name: str = "resolution"
    # The deadline rules: the plain-hour settings of the environment, or the policy file
    # (`RESOLUTION_POLICY`) over them, per channel.
    deadlines: Deadlines | Policy = field(default_factory=Deadlines)
    data_dir: Path = DEFAULT_DATA_DIR
    evidence_limits: Limits = field(default_factory=Limits)
    windows: Windows = field(default_factory=Windows)
    signing_key: str | None = None
    webhooks_allow_private: bool = False
    # Every webhook delivery goes through this HTTP(S) proxy when set (a CONNECT tunnel to the
    # address the deliverer checked).
    webhook_proxy: str | None = None
    jwt_issuer: str | None = None
    jwt_audience: str | None = None
    jwt_leeway: timedelta = timedelta(seconds=30)
    rate_limits: RateLimits = field(default_factory=RateLimits)
    # The console's session cookie: Secure (and `__Host-`) always (True), never (False), or
    # None: unless the console is reached over plain http on a loopback address (development).
    console_secure_cookie: bool | None = None
    # A request's body must arrive within this (slow clients get 408): under gunicorn's
    # `timeout` (60 s), so the request ends cleanly before gunicorn would kill its worker.
    body_timeout: timedelta = timedelta(seconds=50)
    # Wraps each evidence file's own key (64 hex characters); the earlier ones still unwrap
    # keys not yet re-wrapped (`resolution rotate-master-key`). None: the data dir's
    # development key (service/encryption.py).
    master_key: str | None = None
    previous_master_keys: tuple[str, ...] = ()
    # How long each kind of evidence file is kept after its complaint closes.
    retention: Retention = field(default_factory=Retention)

    @property
    def tokens(self) -> TokenPolicy:
        """How bearer tokens are issued and checked (`resolution.web.auth`)."""
        return TokenPolicy(self.jwt_secret, self.jwt_issuer, self.jwt_audience, self.jwt_leeway)

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, tokens: bool = True, **overrides
    ) -> Config:
        """Reads `RESOLUTION_*` and `MONGODB_URI`; see the README's configuration table.

        `tokens=False`: for what issues and checks no bearer token (the sweeper, a rebuild, an
        export): the JWT secret may then be unset.
        """
        env = with_development_settings(os.environ) if environ is None else environ
        production = _environment(env) == "production"
        secret = env.get("RESOLUTION_JWT_SECRET", "")
        if not secret and not tokens:
            pass  # nothing here signs or checks a token
        elif not secret and production:
            raise ConfigError(
                "RESOLUTION_JWT_SECRET is not set: it signs and checks the API's bearer tokens "
                "(RESOLUTION_ENV=production reads no development settings)."
            )
        elif not secret:
            raise ConfigError(
                "RESOLUTION_JWT_SECRET is not set: it signs and checks the API's bearer tokens. "
                f"In development, `make run` (or `resolution seed-demo`) writes one to "
                f"{DEVELOPMENT_SETTINGS} in this directory; in production, set it."
            )
        elif len(secret.encode()) < 32:
            raise ConfigError("RESOLUTION_JWT_SECRET must be at least 32 bytes (HS256 key length).")
        master_key, previous_master_keys = _master_keys(env)
        if master_key is None and production and tokens:
            raise ConfigError(
                "RESOLUTION_MASTER_KEY is not set: it wraps the key of every evidence file "
                "(32 bytes as 64 hex characters; `resolution keys --generate-master` prints one)."
            )
        try:
            deadlines = Deadlines(
                inactivity=parse_duration(env.get("RESOLUTION_INACTIVITY_PERIOD", "72h")),
                care_sla=parse_duration(env.get("RESOLUTION_CARE_SLA", "24h")),
                evidence_min_due=parse_duration(env.get("RESOLUTION_EVIDENCE_MIN_DUE", "24h")),
                pause_max=parse_duration(env.get("RESOLUTION_PAUSE_MAX", "14d")),
            )
        except ValueError as error:
            raise ConfigError(str(error)) from error
        windows = _windows(env)
        policy: Deadlines | Policy = deadlines
        if env.get("RESOLUTION_POLICY", "").strip():
            policy = read_policy(Path(env["RESOLUTION_POLICY"].strip()), deadlines, windows)
            windows = policy.windows
        limits = Limits(
            image=_megabytes(env, "RESOLUTION_MAX_IMAGE_MB", 10),
            document=_megabytes(env, "RESOLUTION_MAX_DOCUMENT_MB", 10),
            video=_megabytes(env, "RESOLUTION_MAX_VIDEO_MB", 100),
        )
        values = {
            "jwt_secret": secret,
            "mongodb_uri": env.get("MONGODB_URI") or None,
            "db_name": env.get("RESOLUTION_DB_NAME", "resolution"),
            "deadlines": policy,
            "data_dir": Path(env.get("RESOLUTION_DATA_DIR", str(DEFAULT_DATA_DIR))),
            "evidence_limits": limits,
            "signing_key": env.get("RESOLUTION_SIGNING_KEY") or None,
            "webhooks_allow_private": _flag(env, "RESOLUTION_WEBHOOK_ALLOW_PRIVATE"),
            "webhook_proxy": _proxy(env),
            "jwt_issuer": env.get("RESOLUTION_JWT_ISSUER") or None,
            "jwt_audience": env.get("RESOLUTION_JWT_AUDIENCE") or None,
            "jwt_leeway": _leeway(env),
            "rate_limits": RateLimits(
                writes=_rate(env, "RESOLUTION_RATE_LIMIT_WRITES", RateLimits.writes),
                uploads=_rate(env, "RESOLUTION_RATE_LIMIT_UPLOADS", RateLimits.uploads),
                database=env.get("RESOLUTION_RATE_LIMIT_DB") or RateLimits.database,
                sync_interval=_limit_sync(env),
            ),
            "console_secure_cookie": _auto_flag(env, "RESOLUTION_CONSOLE_SECURE_COOKIE"),
            "body_timeout": _body_timeout(env),
            "windows": windows,
            "retention": _retention(env),
            "master_key": master_key,
            "previous_master_keys": previous_master_keys,
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)


def _environment(env: Mapping[str, str]) -> str:
    text = env.get("RESOLUTION_ENV", "development").strip().lower() or "development"
    if text not in ENVIRONMENTS:
        raise ConfigError(f"RESOLUTION_ENV is development or production, not {text!r}.")
    return text


def read_settings(path: Path) -> dict[str, str]:
    """`NAME=value` lines (blank lines and `#` comments skipped); {} when there is no file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    settings = {}
    for line in text.splitlines():
        name, equals, value = line.strip().partition("=")
        if equals and not name.startswith("#"):
            settings[name.strip()] = value.strip()
    return settings


def with_development_settings(
    environ: Mapping[str, str], path: Path = DEVELOPMENT_SETTINGS
) -> Mapping[str, str]:
    """The environment over the development settings file, or the environment alone in
    production: what is exported always wins."""
    if _environment(environ) == "production":
        return environ
    return {**read_settings(path), **environ}


def write_development_settings(
    environ: Mapping[str, str], path: Path = DEVELOPMENT_SETTINGS
) -> bool:
    """Generates the development settings once (a random JWT secret and master key; webhooks
    to private addresses allowed, for a receiver on this machine); a file written before
    master keys gets one added. False when there is nothing to do: the file has everything,
    the environment sets the secret, or this is production."""
    import secrets

    if _environment(environ) == "production":
        return False
    if path.exists() or environ.get("RESOLUTION_JWT_SECRET"):
        # Settings written before evidence was encrypted have no master key: one is added.
        if environ.get("RESOLUTION_MASTER_KEY") or "RESOLUTION_MASTER_KEY" in read_settings(path):
            return False
        if not path.exists():
            return False  # everything comes from the environment: the data dir's key serves
        with path.open("a", encoding="utf-8") as file:
            file.write(f"RESOLUTION_MASTER_KEY={secrets.token_hex(32)}\n")
        return True
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Development settings, generated by `make run` (resolution seed-demo); the",
        "# environment overrides each, and RESOLUTION_ENV=production ignores this file.",
        f"RESOLUTION_JWT_SECRET={secrets.token_urlsafe(48)}",
        f"RESOLUTION_MASTER_KEY={secrets.token_hex(32)}",
        "RESOLUTION_WEBHOOK_ALLOW_PRIVATE=1",
    ]
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write("\n".join(lines) + "\n")
    return True


def read_policy(
    path: Path, deadlines: Deadlines, windows: Windows, named: str = "RESOLUTION_POLICY: "
) -> Policy:
    """The policy file at `path`, over the environment's settings (`deadlines`, `windows`):
    a key the file leaves out keeps the environment's value (or the built-in default).

    Anything wrong refuses to start, naming the file, the key and its line (after `named`:
    where the file was given).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"{named}cannot read {path}: {error.strerror}") from error
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{named}{path}: not TOML: {error}") from error
    base = deadlines.rules()
    try:
        return parse_policy(document, base, windows)
    except PolicyError as error:
        line = policy_line(text, error.where)
        raise ConfigError(f"{named}{path}, line {line}: {error.where}: {error.message}") from error


_TABLE = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")


def _table_name(header: str) -> str:
    return ".".join(part.strip().strip("\"'") for part in header.split("."))


def policy_line(text: str, where: str) -> int:
    """The line of the policy file that `where` (`default.calendar`, `channels.x.key`,
    `channels.x`) comes from: the key's own line, else its table's header (1 when neither is
    found). tomllib keeps no positions, so the text is read again here."""
    table, _, key = where.rpartition(".")
    current, header_line, key_line = "", None, None
    for number, line in enumerate(text.splitlines(), start=1):
        found = _TABLE.match(line)
        if found:
            current = _table_name(found[1])
            if current == where and header_line is None:
                header_line = number
            elif current == table and header_line is None:
                header_line = number
            continue
        names_key = re.match(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=", line)
        if current == table and key_line is None and names_key:
            key_line = number
    return key_line or header_line or 1


def parse_master_key(text: str, where: str = "RESOLUTION_MASTER_KEY") -> str:
    """A master key as configured: exactly 32 bytes written as 64 hex characters."""
    text = text.strip()
    if len(text) != 64:
        raise ConfigError(
            f"{where} must be 32 bytes written as 64 hex characters, not {len(text)} characters "
            "(`resolution keys --generate-master` prints one)."
        )
    try:
        bytes.fromhex(text)
    except ValueError as error:
        raise ConfigError(f"{where} must be 64 hex characters (0-9, a-f): {error}") from error
    return text.lower()


def _master_keys(env: Mapping[str, str]) -> tuple[str | None, tuple[str, ...]]:
    current = env.get("RESOLUTION_MASTER_KEY", "").strip()
    listed = env.get("RESOLUTION_MASTER_KEY_PREVIOUS", "")
    previous = tuple(
        parse_master_key(k, "each of RESOLUTION_MASTER_KEY_PREVIOUS")
        for k in listed.split(",")
        if k.strip()
    )
    return (parse_master_key(current) if current else None), previous


def _retention(env: Mapping[str, str]) -> Retention:
    """`RESOLUTION_RETENTION`: `365d,identity_document=30d`: the default period after the
    closing, then `kind=period` for the kinds that differ, comma-separated (each part
    optional; unnamed kinds keep their defaults)."""
    name = "RESOLUTION_RETENTION"
    base = Retention()
    default, per_kind = base.default, dict(base.per_kind)
    for part in filter(None, (p.strip() for p in env.get(name, "").split(","))):
        kind, _, period = part.rpartition("=")
        try:
            duration = parse_duration(period)
        except ValueError as error:
            raise ConfigError(f"{name}: {part!r}: {error}") from error
        if duration <= timedelta(0):
            raise ConfigError(f"{name}: {part!r}: a period above zero.")
        if not kind:
            default = duration
        elif kind in FILE_KINDS:
            per_kind[kind] = duration
        else:
            raise ConfigError(f"{name}: {kind!r} is not a kind of file ({', '.join(FILE_KINDS)}).")
    return Retention(default, per_kind)


def _windows(env: Mapping[str, str]) -> Windows:
    """`RESOLUTION_COMPLAINT_WINDOW`: `7d/30d` (after delivery / never delivered, after
    payment), then `channel=3d/15d` for the channels that differ, comma-separated."""
    name = "RESOLUTION_COMPLAINT_WINDOW"
    text = env.get(name, "").strip()
    default, per_channel = Window(), {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        channel, _, durations = part.rpartition("=")
        after_delivery, slash, undelivered = durations.partition("/")
        try:
            window = Window(parse_duration(after_delivery), parse_duration(undelivered))
        except ValueError as error:
            raise ConfigError(f"{name}: {part!r}: {error}") from error
        if not slash:
            raise ConfigError(f"{name}: {part!r}: give both, after delivery/undelivered (7d/30d).")
        if not channel:
            default = window
        elif CHANNEL.fullmatch(channel):
            per_channel[channel] = window
        else:
            raise ConfigError(f"{name}: {channel!r} is not a channel name.")
    return Windows(default, per_channel)


def _leeway(env: Mapping[str, str]) -> timedelta:
    text = env.get("RESOLUTION_JWT_LEEWAY", "30s")
    try:
        leeway = parse_duration(text)
    except ValueError as error:
        raise ConfigError(f"RESOLUTION_JWT_LEEWAY: {error}") from error
    if leeway > timedelta(minutes=5):
        raise ConfigError("RESOLUTION_JWT_LEEWAY is for clock skew: at most 5m.")
    return leeway


def _body_timeout(env: Mapping[str, str]) -> timedelta:
    text = env.get("RESOLUTION_BODY_TIMEOUT", "50s")
    try:
        timeout = parse_duration(text)
    except ValueError as error:
        raise ConfigError(f"RESOLUTION_BODY_TIMEOUT: {error}") from error
    if not timedelta(0) < timeout < timedelta(seconds=60):
        raise ConfigError("RESOLUTION_BODY_TIMEOUT is above 0 and under gunicorn's 60 s timeout.")
    return timeout


def _limit_sync(env: Mapping[str, str]) -> timedelta:
    """`RESOLUTION_RATE_LIMIT_SYNC`: seconds, such as 0.5, from 0.01 to 10."""
    text = env.get("RESOLUTION_RATE_LIMIT_SYNC", "0.5").strip()
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not 0.01 <= seconds <= 10:  # (nan is neither)
        raise ConfigError(
            f"RESOLUTION_RATE_LIMIT_SYNC is a number of seconds from 0.01 to 10, not {text!r}."
        )
    return timedelta(seconds=seconds)


def _proxy(env: Mapping[str, str]) -> str | None:
    """`RESOLUTION_WEBHOOK_PROXY`: `http://host:port` or `https://host:port`, with
    `user:password@` when the proxy asks for it; nothing else (no path, query or fragment)."""
    name = "RESOLUTION_WEBHOOK_PROXY"
    text = env.get(name, "").strip()
    if not text:
        return None
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError as error:
        raise ConfigError(f"{name} is not a URL: {error}") from error
    shown = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()  # no password
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name} is an http:// or https:// proxy URL, not {shown!r}.")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigError(f"{name} names a proxy (scheme, host, port), not a path: {shown!r}.")
    return text


def _flag(env: Mapping[str, str], name: str) -> bool:
    text = env.get(name, "0").strip().lower()
    if text not in ("0", "1", "true", "false", ""):
        raise ConfigError(f"{name} is 1 (on) or 0 (off), not {text!r}.")
    return text in ("1", "true")


def _rate(env: Mapping[str, str], name: str, default: str | None) -> str | None:
    """A limit such as "120/minute" or "10/second;500/hour", or None for `off`."""
    from limits import parse_many

    text = env.get(name, default or "off").strip()
    if text.lower() in OFF:
        return None
    try:
        parse_many(text)
    except ValueError as error:
        raise ConfigError(
            f"{name} is a rate such as 120/minute (or off), not {text!r}: {error}"
        ) from error
    return text


def _auto_flag(env: Mapping[str, str], name: str) -> bool | None:
    text = env.get(name, "auto").strip().lower()
    if text in ("auto", ""):
        return None
    if text not in ("0", "1", "true", "false"):
        raise ConfigError(f"{name} is auto, 1 (always) or 0 (never), not {text!r}.")
    return text in ("1", "true")


def _megabytes(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name, str(default))
    if not text.isdigit() or int(text) == 0:
        raise ConfigError(f"{name} must be a whole number of megabytes above 0, not {text!r}.")
    return int(text) << 20
