"""The `resolution` command: serve the API, seed a demo, rebuild projections, make tokens.

Every command that needs the database takes `--data-dir`: it uses the embedded server
already running there if there is one, otherwise starts one for its own duration;
`MONGODB_URI` overrides both.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import click

from . import service
from .config import DEFAULT_DATA_DIR, Config, ConfigError
from .domain.deadlines import parse_duration
from .store import database
from .store.embedded import EmbeddedServerError, database_uri

data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_DATA_DIR,
    show_default=True,
    help="Where the embedded database keeps its data (ignored when MONGODB_URI is set).",
)


def _config(**overrides) -> Config:
    try:
        return Config.from_env(**overrides)
    except ConfigError as error:
        raise click.ClickException(str(error)) from error


@contextlib.contextmanager
def _database(data_dir: Path) -> Iterator[str]:
    try:
        with database_uri(data_dir) as uri:
            yield uri
    except EmbeddedServerError as error:
        raise click.ClickException(f"The embedded database did not start: {error}") from error


@contextlib.contextmanager
def _connected(data_dir: Path) -> Iterator[Config]:
    with _database(data_dir) as uri:
        config = _config(mongodb_uri=uri, data_dir=data_dir)
        database.connect(uri, config.db_name)
        try:
            yield config
        finally:
            database.disconnect()


@click.group()
def main() -> None:
    """resolution: a dispute resolution center for marketplaces."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--sweep-interval",
    default=0.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Also run the sweeper every so many seconds, beside the API (0: no sweeper).",
)
@data_dir_option
def serve(host: str, port: int, workers: int, sweep_interval: float, data_dir: Path) -> None:
    """Serves the API with gunicorn (and the embedded database when MONGODB_URI is unset)."""
    from gunicorn.app.base import BaseApplication

    from .api import create_app

    _config()  # fail early, before starting anything, on a bad configuration

    class Gunicorn(BaseApplication):
        def __init__(self, config: Config) -> None:
            self._config = config
            super().__init__()

        def load_config(self) -> None:
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("accesslog", "-")

        def load(self):
            # Called in each worker after the fork: each gets its own MongoDB client.
            return create_app(self._config)

    with _database(data_dir) as uri, _sweeper(uri, sweep_interval):
        click.echo(f"resolution: database {uri}; serving on http://{host}:{port}")
        Gunicorn(_config(mongodb_uri=uri, data_dir=data_dir)).run()


@contextlib.contextmanager
def _sweeper(uri: str, interval: float) -> Iterator[None]:
    """`resolution sweep --loop` as a child process on the same database, stopped with us."""
    if not interval:
        yield
        return
    import os
    import subprocess
    import sys

    command = [sys.executable, "-m", "resolution", "sweep", "--loop", "--interval", str(interval)]
    child = subprocess.Popen(command, env={**os.environ, "MONGODB_URI": uri})
    try:
        yield
    finally:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


@main.command("seed-demo")
@data_dir_option
def seed_demo(data_dir: Path) -> None:
    """Fills a few demo complaints in different states and prints a token for each role."""
    from .demo import seed

    with _connected(data_dir) as config:
        created = seed(service.Context(deadlines=config.deadlines))
        click.echo(f"Demo complaints: {created} created (existing ones are kept).")
        click.echo(demo_tokens(config.jwt_secret))


def demo_tokens(secret: str) -> str:
    from .api.auth import issue_token
    from .demo import PARTIES

    lines = ["Tokens (valid 30 days):"]
    for name, (role, sub, shop_id) in PARTIES.items():
        token = issue_token(secret, role, sub, shop_id, timedelta(days=30))
        lines.append(f"  export {name.upper()}_TOKEN={token}")
    return "\n".join(lines)


@main.command()
@data_dir_option
def rebuild(data_dir: Path) -> None:
    """Recomputes every complaint's projection from its events alone."""
    with _connected(data_dir) as config:
        count = service.rebuild_all(service.Context(deadlines=config.deadlines))
        click.echo(f"Rebuilt {count} complaints from their events.")


@main.command()
@click.option("--now", "now_text", help="Evaluate deadlines as of this instant (ISO 8601).")
@click.option("--loop", is_flag=True, help="Keep sweeping every --interval seconds.")
@click.option("--interval", default=60.0, show_default=True, type=click.FloatRange(min=1))
@data_dir_option
def sweep(now_text: str | None, loop: bool, interval: float, data_dir: Path) -> None:
    """Escalates, closes or completes complaints whose turn-holder stayed silent too long."""
    import time

    from .service.sweeper import sweep as sweep_once

    now = None
    if now_text:
        try:
            now = datetime.fromisoformat(now_text)
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="--now") from error
        if now.tzinfo is None:
            raise click.BadParameter("give a time zone, e.g. +07:00", param_hint="--now")
    with _connected(data_dir) as config:
        ctx = service.Context(deadlines=config.deadlines)
        while True:
            moved = sweep_once(ctx, now)
            detail = ", ".join(f"{action} {n}" for action, n in sorted(moved.items()))
            click.echo(
                f"Moved {sum(moved.values())} complaints" + (f" ({detail})" if detail else "")
            )
            if not loop:
                return
            time.sleep(interval)


def _instant(text: str | None, name: str) -> datetime | None:
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint=name) from error
    if moment.tzinfo is None:
        raise click.BadParameter("give a time zone, e.g. +07:00 or Z", param_hint=name)
    return moment


@main.command()
@click.option("--since", help="From this instant (ISO 8601), inclusive. Default: the start.")
@click.option("--until", help="To this instant, exclusive. Default: now.")
@click.option("--type", "types", multiple=True, help="Only events of this type (repeatable).")
@click.option("--channel", help="Only complaints of this channel (tokopedia, tiktok_shop …).")
@click.option("--complaint-id", help="Only this complaint's events.")
@click.option("--format", "fmt", type=click.Choice(["ndjson", "csv"]), default="ndjson")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@data_dir_option
def export(since, until, types, channel, complaint_id, fmt, out, data_dir) -> None:
    """Writes a masked, signed audit export of the event log (what GET /v1/audit/events sends)."""
    import sys

    from .domain.actors import Actor, Role
    from .service import audit

    query = audit.ExportQuery(
        since=_instant(since, "--since") or audit.EPOCH,
        until=_instant(until, "--until"),
        types=tuple(types),
        channel=channel,
        complaint_id=complaint_id,
    )
    auditor = Actor(Role.AUDITOR, "cli")
    with _connected(data_dir) as config:
        ctx = _context(config)
        records = audit.export_records(ctx, auditor, query)
        render = audit.as_csv if fmt == "csv" else audit.as_ndjson
        total = audit.count_events(query, query.until or ctx.clock())
        written = 0
        with (
            out.open("w", encoding="utf-8", newline="") as sink,
            click.progressbar(
                length=total,
                label="Exporting",
                file=sys.stderr if sys.stderr.isatty() else io.StringIO(),
            ) as bar,
        ):
            for line in render(records):
                sink.write(line)
                written += 1
                bar.update(1)
    click.echo(f"Wrote {out} ({fmt}, {total} events before filters, signed manifest last).")


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--public-key", help="The service's public key (base64) to check the signature with.")
def verify(file: Path, public_key: str | None) -> None:
    """Checks an audit export: every chain, the manifest and its signature."""
    from .service import audit

    with file.open(encoding="utf-8", newline="") as stream:
        finding = audit.verify(stream, public_key)
    if finding.ok:
        click.echo(finding.message)
        return
    where = []
    if finding.line is not None:
        where.append(f"line {finding.line}")
    if finding.complaint_id:
        where.append(f"complaint {finding.complaint_id} seq {finding.seq}")
    raise click.ClickException(
        f"broken: {finding.message}" + (f" ({', '.join(where)})" if where else "")
    )


@main.command()
@click.option(
    "--generate", is_flag=True, help="Print a new private key for RESOLUTION_SIGNING_KEY."
)
@data_dir_option
def keys(generate: bool, data_dir: Path) -> None:
    """Prints the public key that signs audit exports (what auditors pass to `verify`)."""
    from . import signing

    if generate:
        click.echo(signing.generate())
        return
    import os

    key = signing.load(os.environ.get("RESOLUTION_SIGNING_KEY"), data_dir)
    click.echo(signing.public_key(key))


def _context(config: Config) -> service.Context:
    from . import signing

    return service.Context(
        deadlines=config.deadlines,
        evidence_limits=config.evidence_limits,
        signing_key=signing.load(config.signing_key, config.data_dir),
    )


@main.command()
@click.option("--role", required=True, type=click.Choice(["buyer", "seller", "care", "auditor"]))
@click.option("--sub", required=True, help="The caller's id (buyer id, seller user, agent id).")
@click.option("--shop-id", help="The seller's shop (required for --role seller).")
@click.option("--ttl", default="1d", show_default=True, help="How long it is valid: 1d, 12h, 30m.")
def token(role: str, sub: str, shop_id: str | None, ttl: str) -> None:
    """Prints a signed bearer token for development."""
    from .api.auth import issue_token

    if role == "seller" and not shop_id:
        raise click.UsageError("--shop-id is required for a seller token.")
    try:
        lifetime = parse_duration(ttl)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--ttl") from error
    click.echo(issue_token(_config().jwt_secret, role, sub, shop_id, lifetime))
