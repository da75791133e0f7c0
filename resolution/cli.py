"""The `resolution` command: serve the API, seed a demo, rebuild projections, make tokens.

Every command that needs the database takes `--data-dir`: it uses the embedded server
already running there if there is one, otherwise starts one for its own duration;
`MONGODB_URI` overrides both.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import tempfile
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import click

from . import service
from .config import (
    DEFAULT_DATA_DIR,
    DEVELOPMENT_SETTINGS,
    Config,
    ConfigError,
    write_development_settings,
)
from .domain.deadlines import parse_duration
from .domain.identifiers import CHANNEL
from .service.unit_of_work import context_for
from .store import database
from .store.embedded import EmbeddedServerError, database_uri
from .workers import supervisor

log = logging.getLogger(__name__)

data_dir_option = click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_DATA_DIR,
    show_default=True,
    help="Where the embedded database keeps its data (ignored when MONGODB_URI is set).",
)


def _config(*, tokens: bool = True, **overrides) -> Config:
    try:
        return Config.from_env(tokens=tokens, **overrides)
    except ConfigError as error:
        raise click.ClickException(str(error)) from error


@contextlib.contextmanager
def _database(data_dir: Path, watch: bool = False) -> Iterator[str]:
    try:
        with database_uri(data_dir, watch=watch) as uri:
            yield uri
    except EmbeddedServerError as error:
        raise click.ClickException(f"The embedded database did not start: {error}") from error


@contextlib.contextmanager
def _connected(data_dir: Path, *, tokens: bool = False) -> Iterator[Config]:
    """The configuration, the database connected (`tokens`: the command issues bearer tokens,
    so the JWT secret must be set; the others run without it)."""
    with _database(data_dir) as uri:
        config = _config(tokens=tokens, mongodb_uri=uri, data_dir=data_dir)
        database.connect(uri, config.db_name)
        try:
            yield config
        finally:
            database.disconnect()


@click.group()
@click.version_option(package_name="resolution", prog_name="resolution")
def main() -> None:
    """resolution: a dispute resolution center for marketplaces.

    \b
    Commands that sign or check bearer tokens (serve, seed-demo, token) need
    RESOLUTION_JWT_SECRET. In development they find the one `make run` generated in
    var/development.env (run from the project's directory); RESOLUTION_ENV=production
    reads no such file and wants the secret set.
    """


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--threads",
    default=1,
    show_default=True,
    type=click.IntRange(1, 32),
    help="Threads per worker (over 1: gunicorn's gthread workers; only behind a buffering proxy).",
)
@click.option(
    "--sweep-interval",
    default=0.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Also run the sweeper every so many seconds, beside the API (0: no sweeper).",
)
@click.option(
    "--deliver-interval",
    default=0.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Also run the webhook deliverer, polling every so many seconds (0: no deliverer).",
)
@data_dir_option
def serve(
    host: str,
    port: int,
    workers: int,
    threads: int,
    sweep_interval: float,
    deliver_interval: float,
    data_dir: Path,
) -> None:
    """Serves the API with gunicorn (and the embedded database when MONGODB_URI is unset)."""
    import shutil

    _config()  # fail early, before starting anything, on a bad configuration
    if not os.environ.get(MULTIPROC_ENV):
        # Every process (workers, sweeper, deliverer) writes its metrics to one fresh
        # directory that /metrics adds up. prometheus_client reads the setting when it is
        # imported, so start again with it set.
        os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="resolution-metrics-")
        os.environ[_OWNS_METRICS_DIR] = "1"
        os.execv(sys.executable, [sys.executable, "-m", "resolution", *sys.argv[1:]])
    owns_metrics_dir = os.environ.pop(_OWNS_METRICS_DIR, None) == "1"

    from gunicorn.app.base import BaseApplication

    from .observability import configure_logging
    from .web.app import create_app
    from .workers import gunicorn_config

    configure_logging()

    class Gunicorn(BaseApplication):
        def __init__(self, config: Config) -> None:
            self._config = config
            super().__init__()

        def load_config(self) -> None:
            for name in gunicorn_config.__all__:
                self.cfg.set(name, getattr(gunicorn_config, name))
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", workers)
            self.cfg.set("threads", threads)  # over 1, gunicorn runs gthread workers

        def load(self):
            # Called in each worker after the fork: each gets its own MongoDB client.
            return create_app(self._config)

    sweeper = ["sweep", "--loop", "--interval", str(sweep_interval)]
    deliverer = ["deliver", "--loop", "--interval", str(deliver_interval)]
    with (
        _database(data_dir, watch=True) as uri,  # a database that dies is started again
        supervisor.beside(uri, sweeper if sweep_interval else None),
        supervisor.beside(uri, deliverer if deliver_interval else None),
    ):
        click.echo(f"resolution: database {uri}; serving on http://{host}:{port}")
        arbiter = os.getpid()
        try:
            Gunicorn(_config(mongodb_uri=uri, data_dir=data_dir)).run()
        except SystemExit as leaving:
            if os.getpid() != arbiter:
                # A worker leaving: gunicorn forks its workers inside `run()`, so their exit
                # comes back up through here. The clean-up below and the `with` blocks around
                # (the sweeper, the deliverer, the database) are the arbiter's: a worker that
                # ran them removed the metrics directory under the other workers.
                code = leaving.code
                os._exit(code if isinstance(code, int) else 0 if code is None else 1)
            raise
        finally:
            if owns_metrics_dir and os.getpid() == arbiter:
                shutil.rmtree(os.environ[MULTIPROC_ENV], ignore_errors=True)


MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_OWNS_METRICS_DIR = "RESOLUTION_OWNS_METRICS_DIR"


@main.command("seed-demo")
@click.option(
    "--console-url",
    default="http://127.0.0.1:8000/console",
    show_default=True,
    help="Where the care console is served, for the sign-in link this prints.",
)
@data_dir_option
def seed_demo(console_url: str, data_dir: Path) -> None:
    """Fills a few demo complaints in different states and prints a token for each role.

    In development (RESOLUTION_ENV unset) with no RESOLUTION_JWT_SECRET exported, it first
    generates the development settings in var/development.env (a random secret), which every
    later command run from this directory reads: `token`, `serve` and the rest just work."""
    from .service.demo import seed

    try:
        if write_development_settings(os.environ):
            click.echo(f"Development settings (new secrets): {DEVELOPMENT_SETTINGS}")
    except ConfigError as error:
        raise click.ClickException(str(error)) from error
    with _connected(data_dir, tokens=True) as config:
        created = seed(context_for(config))  # its files are wrapped by the configured key
        click.echo(f"Demo complaints: {created} created (existing ones are kept).")
        click.echo(demo_tokens(config.tokens, console_url))


def demo_tokens(secret, console_url: str | None = None) -> str:
    from .service.demo import CHANNELS, PARTIES
    from .web.auth import issue_token

    lines = ["Tokens (valid 30 days):"]
    tokens = {}
    for name, (role, sub, shop_id) in PARTIES.items():
        channels = CHANNELS if role == "integration" else ()
        tokens[name] = issue_token(secret, role, sub, shop_id, timedelta(days=30), channels)
        lines.append(f"  export {name.upper()}_TOKEN={tokens[name]}")
    if console_url:
        # The token rides after "#": the browser keeps it, no server log ever sees it.
        link = f"{console_url.rstrip('/')}/login#token={tokens['care']}"
        lines.append(f"Care console (development sign-in as {PARTIES['care'][1]}):\n  {link}")
    return "\n".join(lines)


@main.command()
@data_dir_option
def rebuild(data_dir: Path) -> None:
    """Recomputes every complaint's projection from its events alone."""
    with _connected(data_dir) as config:
        count = service.rebuild_all(service.Context(deadlines=config.deadlines))
        click.echo(f"Rebuilt {count} complaints from their events.")


@main.command()
@data_dir_option
def recount(data_dir: Path) -> None:
    """Recounts the complaints in each state, which the metrics read from counters kept with
    every write: for a database written by an older version beside this one."""
    with _connected(data_dir):
        counted = service.recount()
        total = sum(counted.values())
        click.echo(f"Recounted {total} complaints in {len(counted)} states.")


@main.command("check-chains")
@data_dir_option
def check_chains(data_dir: Path) -> None:
    """Verifies every complaint's event chain in the database (hashes and links).

    Names each complaint whose chain is broken, with the first event that fails, and exits 1.
    An audit export proves what its file holds; this proves what the database holds.
    """
    with _connected(data_dir):
        checked, broken = 0, 0
        for complaint_id, seq in service.check_chains():
            checked += 1
            if seq is not None:
                broken += 1
                click.echo(f"{complaint_id}: the chain breaks at seq {seq}")
        if broken:
            raise click.ClickException(f"{broken} of {checked} complaints' chains are broken.")
        click.echo(f"ok: {checked} complaints' chains verified.")


@main.command()
@click.option("--now", "now_text", help="Evaluate deadlines as of this instant (ISO 8601).")
@click.option("--loop", is_flag=True, help="Keep sweeping every --interval seconds.")
@click.option("--interval", default=60.0, show_default=True, type=click.FloatRange(min=1))
@click.option(
    "--checkpoint-every",
    default=300.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Sign a checkpoint when the latest is this many seconds old (0: never).",
)
@data_dir_option
def sweep(
    now_text: str | None, loop: bool, interval: float, checkpoint_every: float, data_dir: Path
) -> None:
    """Escalates, closes or completes complaints whose turn-holder stayed silent too long,
    and reminds turn-holders whose deadline is near; signs a checkpoint when one is due and
    checks it against the one before (a break: a log line and a metric)."""
    from .service.sweeper import PURGED, REMINDER
    from .workers import sweeper

    def report(moved) -> None:
        reminded = moved.pop(REMINDER, 0)
        purged = moved.pop(PURGED, 0)
        detail = ", ".join(f"{action} {n}" for action, n in sorted(moved.items()))
        click.echo(
            f"Moved {sum(moved.values())} complaints"
            + (f" ({detail})" if detail else "")
            + f"; reminded {reminded} of a deadline ({REMINDER})"
            + (
                f"; destroyed {purged} evidence files past their retention ({PURGED})"
                if purged
                else ""
            )
        )

    now = _instant(now_text, "--now")
    with _connected(data_dir) as config:
        full = context_for(config)
        ctx = service.Context(
            deadlines=config.deadlines,
            signing_key=full.signing_key,
            retention=config.retention,
            file_keys=full.file_keys,
        )
        sweeper.run(
            ctx,
            now,
            loop=loop,
            interval=interval,
            checkpoint_every=timedelta(seconds=checkpoint_every) if checkpoint_every else None,
            report=report,
            warn=lambda message: click.echo(message, err=True),
        )


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


@main.command("replay-policy")
@click.option(
    "--policy",
    "policy_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The policy file to try (what RESOLUTION_POLICY would name; docs/policy.md).",
)
@click.option(
    "--since", required=True, help="Complaints open at some instant from this one (ISO 8601)…"
)
@click.option("--until", help="…to this one, exclusive. Default: now.")
@click.option("--now", "now_text", help="Replay as of this instant (ISO 8601). Default: now.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (for tools).")
@data_dir_option
def replay_policy(
    policy_file: Path,
    since: str,
    until: str | None,
    now_text: str | None,
    as_json: bool,
    data_dir: Path,
) -> None:
    """Prints what a new deadline policy would have done to the complaints open in a period:
    how many escalations, closings, completions and reminders would have come earlier,
    later, not at all or newly, and which complaints. Writes nothing.

    Each complaint's events made by people are replayed in order under the new policy, and
    whatever the clock would have done between them is done (docs/policy.md says how)."""
    import json

    from .config import read_policy, with_development_settings
    from .domain.errors import DomainError
    from .service.policy_replay import replay_policy as replay

    start, end = _instant(since, "--since"), _instant(until, "--until")
    now = _instant(now_text, "--now")
    # The file over the environment's settings, as the service would read it at start.
    environ = dict(with_development_settings(os.environ))
    environ.pop("RESOLUTION_POLICY", None)
    try:
        beneath = Config.from_env(environ, tokens=False)
    except ConfigError as error:
        raise click.ClickException(str(error)) from error
    try:
        policy = read_policy(policy_file, beneath.deadlines, beneath.windows, named="")
    except ConfigError as error:
        raise click.BadParameter(str(error), param_hint="--policy") from error
    with _connected(data_dir) as config:
        ctx = service.Context(deadlines=config.deadlines)
        if now is not None:
            ctx = service.Context(deadlines=config.deadlines, clock=lambda: now)
        try:
            report = replay(ctx, policy, start, end)
        except DomainError as error:
            raise click.BadParameter(error.detail, param_hint="--until") from error
    if as_json:
        click.echo(json.dumps({**report.as_data(), "policy": str(policy_file)}, indent=2))
        return
    click.echo(_replay_text(report, policy_file))


def _replay_text(report, policy_file: Path) -> str:
    """The report for a person: the counts, then each change and each event left out, in
    WIB."""
    from .domain.calendars import WIB
    from .domain.policy_replay import KINDS, VERDICTS

    def wib(moment: datetime) -> str:
        return moment.astimezone(WIB).strftime("%Y-%m-%d %H:%M")

    labels = {"earlier": "earlier", "later": "later", "same": "same"}
    labels.update({"not_at_all": "not at all", "new": "new"})
    lines = [
        f"Replayed {len(report.complaints)} complaints open between {wib(report.since)} and "
        f"{wib(report.until)} WIB, as of {wib(report.now)} WIB, under {policy_file}.",
        "",
        f"{'':22}" + "".join(f"{labels[v]:>12}" for v in VERDICTS),
    ]
    counts = report.counts()
    for kind in KINDS:
        lines.append(f"{kind:22}" + "".join(f"{counts[kind][v]:>12}" for v in VERDICTS))
    if report.changes:
        lines += ["", "What would have changed (when each was due, in WIB):"]
    for change in report.changes:
        what = f"  {change.complaint_id}  {change.kind} ({change.party}): "
        if change.verdict == "new":
            what += f"new, {wib(change.would_be)}"
        elif change.verdict == "not_at_all":
            what += f"was {wib(change.was)}, would not have come by {wib(report.now)}"
        else:
            what += f"{wib(change.was)} -> {wib(change.would_be)}, "
            what += f"{_span(abs(change.difference))} {change.verdict}"
        lines.append(what)
    if report.skipped:
        lines += [
            "",
            "Not replayed (refused by the machine in the history as replayed, or after now):",
        ]
    for left in report.skipped:
        which = f"seq {left.seq} " if left.seq is not None else ""
        lines.append(
            f"  {left.complaint_id}  {which}{left.type} by {left.role} at {wib(left.at)}: "
            f"{left.why}"
        )
    return "\n".join(lines)


def _span(span: timedelta) -> str:
    """`4d`, `1d 2h`, `30m`: a length of time in its largest units."""
    seconds = int(span.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(parts) or "0s"


@main.command()
@click.option("--loop", is_flag=True, help="Keep delivering, polling every --interval seconds.")
@click.option("--interval", default=1.0, show_default=True, type=click.FloatRange(min=0.05))
@click.option(
    "--lease",
    default=60.0,
    show_default=True,
    type=click.FloatRange(min=1),
    help="Seconds a delivery being sent is held; a deliverer that dies lets it go after this.",
)
@data_dir_option
def deliver(loop: bool, interval: float, lease: float, data_dir: Path) -> None:
    """Sends committed events to the webhooks that want them (signed, in order, retried)."""
    from .workers import deliverer

    if loop:
        from .observability import configure_logging

        configure_logging()
    with _connected(data_dir) as config:
        done = deliverer.run(
            context_for(config),
            loop=loop,
            interval=interval,
            lease=timedelta(seconds=lease),
            proxy=config.webhook_proxy,
        )
        click.echo(
            f"Delivered {done.delivered}, failed {done.failed} (to retry), "
            f"dead-lettered {done.dead}; fanned out {done.fanned_out} events."
        )


@main.command()
@click.option("--since", help="From this instant (ISO 8601), inclusive. Default: the start.")
@click.option("--until", help="To this instant, exclusive. Default: now.")
@click.option("--type", "types", multiple=True, help="Only events of this type (repeatable).")
@click.option("--channel", help="Only complaints of this channel (tokopedia, tiktok_shop …).")
@click.option("--complaint-id", help="Only this complaint's events.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["ndjson", "csv"]),
    default="ndjson",
    show_default=True,
    help="NDJSON (one record a line, the manifest last) or CSV (a row a record).",
)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option(
    "--after",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The previous export: this one starts where it ended and names its manifest.",
)
@data_dir_option
def export(since, until, types, channel, complaint_id, fmt, out, after, data_dir) -> None:
    """Writes a masked, signed audit export of the event log (what GET /v1/audit/events sends),
    ending at a checkpoint (a new one, without --until)."""
    import itertools

    from .domain.actors import Actor, Role
    from .domain.errors import DomainError
    from .domain.events import EPOCH
    from .service import audit

    previous = _previous_manifest(after) if after else None
    query = audit.ExportQuery(
        since=_instant(since, "--since") or EPOCH,
        until=_instant(until, "--until"),
        types=tuple(types),
        channel=channel,
        complaint_id=complaint_id,
        after=previous["manifest"] if previous else None,
    )
    auditor = Actor(Role.AUDITOR, "cli")
    manifest: dict = {}
    partial = out.with_name(out.name + ".partial")  # the file appears whole, or not at all
    with _connected(data_dir) as config:
        ctx = context_for(config)
        if previous is not None:
            from .domain.events import canonical
            from .service import signing

            own = signing.public_key(ctx.signing_key)
            if not signing.verify(own, canonical(previous["manifest"]), previous["signature"]):
                raise click.ClickException(
                    f"{after} is not an export signed by this service's key."
                )
        records = audit.export_records(ctx, auditor, query)
        try:
            first = next(records)  # a refused query (--until before --since) stops here
        except DomainError as error:
            raise click.ClickException(error.detail) from error
        render = audit.as_csv if fmt == "csv" else audit.as_ndjson
        # Counting costs about half an export: only for a bar someone will see.
        on_terminal = sys.stderr.isatty()
        total = audit.count_events(query, query.until or ctx.clock()) if on_terminal else 0
        with (
            partial.open("w", encoding="utf-8", newline="") as sink,
            click.progressbar(
                length=total,
                label="Exporting",
                file=sys.stderr if on_terminal else io.StringIO(),
            ) as bar,
        ):

            def counted(records):
                for record in records:
                    if "manifest" in record:
                        manifest.update(record["manifest"])
                    else:
                        bar.update(1)
                    yield record

            for line in render(counted(itertools.chain([first], records))):
                sink.write(line)
        partial.replace(out)
    click.echo(f"Wrote {out}: {manifest['count']} events ({fmt}), signed manifest last.")


def _previous_manifest(path: Path) -> dict:
    """The manifest record of the export named by --after, or a refusal naming what is wrong."""
    from .service import audit

    with path.open(encoding="utf-8-sig", newline="") as stream:
        found = audit.last_manifest(stream)
    if found is None or not isinstance(found.get("manifest"), dict):
        raise click.BadParameter(
            f"{path} does not end with an export's manifest", param_hint="--after"
        )
    return found


@main.group()
def orders() -> None:
    """The order registry: what the marketplace registers (PUT /v1/orders/…), in bulk."""


@orders.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@data_dir_option
def import_orders(file: Path, data_dir: Path) -> None:
    """Registers the orders of an NDJSON file, one order a line: `{"channel", "id", …}` with
    the fields of PUT /v1/orders/{channel}/{id}. Each line is written wholly or refused."""
    import json

    from marshmallow import ValidationError

    from schemas.orders import OrderReferenceSchema, RegisterOrderSchema

    from .service import orders as registry

    body_schema, reference = RegisterOrderSchema(), OrderReferenceSchema()

    def lines(stream):
        for number, text in enumerate(stream, start=1):
            if not text.strip():
                continue
            try:
                line = json.loads(text)
                if not isinstance(line, dict):
                    raise ValueError("not a JSON object")
                named = reference.load({k: line.get(k) for k in ("channel", "id")})
                body = body_schema.load({k: v for k, v in line.items() if k not in named})
            except ValueError as error:
                yield number, f"not JSON: {error}"
                continue
            except ValidationError as error:
                yield number, f"invalid: {json.dumps(error.messages, sort_keys=True)}"
                continue
            yield number, {**named, **body}

    with file.open(encoding="utf-8-sig") as stream:
        total = sum(1 for text in stream if text.strip())
    with (
        _connected(data_dir) as config,
        file.open(encoding="utf-8-sig") as stream,
        click.progressbar(
            length=total,
            label="Importing",
            file=sys.stderr if sys.stderr.isatty() else io.StringIO(),
        ) as bar,
    ):

        def counted(found):
            for item in found:
                bar.update(1)
                yield item

        done = registry.import_orders(context_for(config), counted(lines(stream)), "import")
    click.echo(
        f"Orders: {done.created} created, {done.updated} updated, {done.unchanged} unchanged, "
        f"{len(done.refused)} refused."
    )
    for number, why in done.refused:
        click.echo(f"  line {number}: {why}")
    if done.refused:
        raise SystemExit(1)


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--public-key", help="The service's public key (base64) to check the signature with.")
@click.option(
    "--after",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The export before this one: nothing may be missing between the two.",
)
def verify(file: Path, public_key: str | None, after: Path | None) -> None:
    """Checks an audit export: every chain, the manifest and its signature, the checkpoint it
    ends at (every complaint's events reach the head it commits to), and with --after that
    it follows that export without a gap."""
    from .service import audit

    previous = _previous_manifest(after) if after else None
    # utf-8-sig: an export saved again by an editor that adds a byte-order mark still reads.
    with file.open(encoding="utf-8-sig", newline="") as stream:
        finding = audit.verify(stream, public_key, previous)
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
@data_dir_option
def checkpoint(data_dir: Path) -> None:
    """Signs a checkpoint of every complaint's head now, and prints its line."""
    from .service import anchoring

    with _connected(data_dir) as config:
        made = anchoring.make(context_for(config))
    click.echo(made.line)


@main.command("verify-log")
@click.option("--from", "first", type=click.IntRange(min=1), help="The first checkpoint (number).")
@click.option("--to", "last", type=click.IntRange(min=1), help="The last checkpoint (number).")
@click.option(
    "--public-key",
    "public_keys",
    multiple=True,
    help="A key to trust (base64, repeatable). Default: the key history in the database.",
)
@data_dir_option
def verify_log(first, last, public_keys, data_dir: Path) -> None:
    """Proves each checkpoint extends the one before and the database now extends them all.

    Names every complaint deleted, truncated or rewritten since a checkpoint committed to
    its head, and every checkpoint replaced, missing or signed by a key not trusted; exits 1.
    """
    from .domain.errors import DomainError
    from .service import anchoring, signing

    with _connected(data_dir) as config:
        try:
            trusted = anchoring.trusted_keys(public_keys)
            if not trusted:
                history = {k["key"]: k["public_key"] for k in anchoring.key_history()}
                own = signing.public_key(context_for(config).signing_key)
                trusted = {**history, **anchoring.trusted_keys([own])}
            if last is not None and first is not None and first > last:
                raise click.BadParameter(f"--from {first} is after --to {last}")
            report = anchoring.verify_log(trusted, first, last)
        except DomainError as error:
            raise click.ClickException(error.detail) from error
    for found in report.breaks:
        click.echo(str(found))
    span = f"{report.checked[0]}..{report.checked[-1]}" if report.checked else "none"
    source = "the given keys" if public_keys else "the database's key history and this key"
    if report.breaks:
        raise click.ClickException(
            f"{len(report.breaks)} breaks: checkpoints {span}, {report.complaints} complaints"
        )
    click.echo(
        f"ok: checkpoints {span} each extend the one before, and the database extends them"
        f" ({report.complaints} complaints; signatures checked with {source})"
    )


@main.command("verify-proof")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--complaint-id", help="The complaint the proof must be for.")
@click.option(
    "--public-key",
    "public_keys",
    multiple=True,
    required=True,
    help="The service's public key (base64, repeatable: keys of the key history).",
)
def verify_proof(file: Path, complaint_id: str | None, public_keys) -> None:
    """Checks a proof (GET /v1/complaints/{id}/proof) offline: the head is in the checkpoint."""
    import json

    from .domain.errors import DomainError
    from .service import anchoring

    try:
        trusted = anchoring.trusted_keys(public_keys)
    except DomainError as error:
        raise click.BadParameter(error.detail, param_hint="--public-key") from error
    try:
        proof = json.loads(file.read_text(encoding="utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as error:
        raise click.ClickException(f"broken: {file} is not JSON ({error})") from error
    if isinstance(proof, dict) and isinstance(proof.get("proof"), dict):
        proof = proof["proof"]  # the API's whole answer
    why = anchoring.verify_proof(proof, trusted, complaint_id)
    if why:
        raise click.ClickException(f"broken: {why}")
    click.echo(
        f"ok: complaint {proof['complaint_id']} at seq {proof['seq']} is in checkpoint "
        f"{proof['checkpoint'].split(' n=')[1].split()[0]}"
    )


@main.command("rotate-master-key")
@data_dir_option
def rotate_master_key(data_dir: Path) -> None:
    """Re-wraps every evidence file's key under RESOLUTION_MASTER_KEY (the new master key),
    unwrapping with RESOLUTION_MASTER_KEY_PREVIOUS (the old ones); no file is re-encrypted.
    Once it has run, the old keys may be dropped."""
    from .service import evidence as evidence_service
    from .service.encryption import KeyUnavailable

    with _connected(data_dir) as config:
        ctx = context_for(config)
        try:
            count = evidence_service.rewrap_file_keys(ctx)
        except KeyUnavailable as error:
            raise click.ClickException(
                f"A file key is wrapped by master key {error}, which is neither "
                "RESOLUTION_MASTER_KEY nor in RESOLUTION_MASTER_KEY_PREVIOUS."
            ) from error
        click.echo(f"Re-wrapped {count} file keys under master key {ctx.file_keys.current_id}.")


@main.command("encrypt-files")
@click.option(
    "--batch",
    default=100,
    show_default=True,
    type=click.IntRange(1, 10000),
    help="Files listed per query.",
)
@data_dir_option
def encrypt_files(batch: int, data_dir: Path) -> None:
    """Encrypts in place the evidence files stored before files were encrypted, each under its
    own key wrapped by RESOLUTION_MASTER_KEY: ids, hashes and ETags stay. Safe to run again,
    and on several machines at once."""
    from .service import evidence as evidence_service

    with _connected(data_dir) as config:
        done = evidence_service.encrypt_stored_files(context_for(config), batch)
        plural = "" if done.sealed == 1 else "s"
        click.echo(
            f"Encrypted {done.sealed} evidence file{plural} stored before encryption"
            + (f"; {done.busy} being encrypted by another run" if done.busy else "")
            + "."
        )


@main.command()
@click.option(
    "--generate", is_flag=True, help="Print a new private key for RESOLUTION_SIGNING_KEY."
)
@click.option(
    "--generate-master",
    is_flag=True,
    help="Print a new master key for RESOLUTION_MASTER_KEY (64 hex characters).",
)
@click.option(
    "--history",
    is_flag=True,
    help="Print every key that signed a checkpoint: id, public key, first and last use.",
)
@data_dir_option
def keys(generate: bool, generate_master: bool, history: bool, data_dir: Path) -> None:
    """Prints the public key that signs audit exports and checkpoints (what auditors pin)."""
    from .service import signing

    if generate_master:
        import secrets

        click.echo(secrets.token_hex(32))
        return
    if generate:
        click.echo(signing.generate())
        return
    if history:
        from .service import anchoring

        with _connected(data_dir):
            for k in anchoring.key_history():
                click.echo(f"{k['key']} {k['public_key']} {k['first_used']} {k['last_used']}")
        return

    key = signing.load(os.environ.get("RESOLUTION_SIGNING_KEY"), data_dir)
    click.echo(signing.public_key(key))


@main.command()
@click.option(
    "--role",
    required=True,
    type=click.Choice(["buyer", "seller", "care", "auditor", "integration"]),
)
@click.option(
    "--sub",
    required=True,
    help="The caller's id (buyer id, seller user, agent id, integrating back end).",
)
@click.option("--shop-id", help="The seller's shop (required for --role seller).")
@click.option(
    "--channel",
    "channels",
    multiple=True,
    help="A channel an integration acts for (repeatable): its orders and complaints.",
)
@click.option("--ttl", default="1d", show_default=True, help="How long it is valid: 1d, 12h, 30m.")
def token(role: str, sub: str, shop_id: str | None, channels: tuple[str, ...], ttl: str) -> None:
    """Prints a signed bearer token for development."""
    from .web.auth import issue_token

    if role == "seller" and not shop_id:
        raise click.UsageError("--shop-id is required for a seller token.")
    try:
        lifetime = parse_duration(ttl)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--ttl") from error
    if channels and role != "integration":
        raise click.UsageError("--channel is for integration tokens.")
    for channel in channels:
        if not CHANNEL.fullmatch(channel):
            raise click.BadParameter(f"{channel!r} is not a channel name", param_hint="--channel")
    click.echo(issue_token(_config().tokens, role, sub, shop_id, lifetime, channels))
