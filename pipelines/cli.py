"""The ``yiwang`` command line: generate the demo, build the warehouse, serve the cockpit."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from pipelines import catalog
from pipelines.cli_security import audit_app, user_app, write_demo_users
from pipelines.settings import PROJECT_ROOT, Settings

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help=__doc__, pretty_exceptions_enable=False
)
app.add_typer(user_app, name="user")
app.add_typer(audit_app, name="audit")
log = logging.getLogger("yiwang")


def _settings(data_dir: Path | None, **overrides: Any) -> Settings:
    extra = {k: v for k, v in overrides.items() if v is not None}
    if data_dir is not None:
        extra["data_dir"] = data_dir
    return Settings.from_env(**extra)


DataDir = Annotated[Path | None, typer.Option(help="Data folder (default: YIWANG_DATA_DIR)")]


@app.command()
def demo(
    requests: Annotated[int | None, typer.Option(help="Number of requests (<= 50 M)")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed")] = None,
    end: Annotated[str | None, typer.Option(help="Last day of the 12 months, YYYY-MM-DD")] = None,
    data_dir: DataDir = None,
    if_missing: Annotated[bool, typer.Option(help="Do nothing when the demo exists")] = False,
) -> None:
    """Generate the demo city's raw files (seeded, deterministic)."""
    from pipelines.demo import generate

    settings = _settings(data_dir, demo_requests=requests, demo_seed=seed, demo_end=end)
    out = settings.data_dir / "01_raw" / "demo"
    wanted = {
        "requests": settings.demo_requests,
        "seed": settings.demo_seed,
        "end_day": settings.demo_end,
    }
    users_file = write_demo_users(settings)
    if users_file is not None:
        typer.echo(f"demo users (one per role, password yiwang-demo) written to {users_file}")
    truth_file = out / "ground_truth.json"
    if if_missing and truth_file.is_file():
        have = json.loads(truth_file.read_text(encoding="utf-8"))
        if all(have.get(k) == v for k, v in wanted.items()):
            typer.echo(f"demo city already at {out} ({have['requests']:,} requests); reusing it")
            return
    summary = generate(
        out,
        n_requests=settings.demo_requests,
        seed=settings.demo_seed,
        end=settings.demo_end,
        progress=sys.stderr.isatty(),
    )
    typer.echo(
        f"demo city written to {out}: {summary['requests']:,} requests, "
        f"{summary['events']:,} events, {summary['components']:,} components "
        f"in {summary['seconds']} s"
    )


@app.command()
def build(
    data_dir: DataDir = None,
    source: Annotated[Path | None, typer.Option(help="Source spec TOML")] = None,
    until: Annotated[str | None, typer.Option(help="Stop after this stage")] = None,
    if_stale: Annotated[bool, typer.Option(help="Skip when inputs are unchanged")] = False,
) -> None:
    """Run ingest -> geoindex -> aggregate -> publish into a new warehouse build."""
    from pipelines.stages import run_all

    settings = _settings(data_dir, source=source)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    report = run_all(settings, until=until, skip_if_fresh=if_stale)
    typer.echo(json.dumps(report, ensure_ascii=False, indent=1))


#: The committed spec of the reference real source (data read in place from ../shared).
LA_SPEC = PROJECT_ROOT / "sources" / "la-311" / "source.toml"


@app.command()
def la(
    data_dir: Annotated[
        Path | None, typer.Option(help="Data folder for the LA warehouse (default: <data>/la-311)")
    ] = None,
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the cockpit once built")
    ] = True,
    host: Annotated[str | None, typer.Option(help="Listen address")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port")] = None,
) -> None:
    """Build the Los Angeles 311 warehouse from ../shared/data/la-311 and serve it."""
    from pipelines.sources.spec import SpecError, load_spec
    from pipelines.stages import run_all

    base = Settings.from_env()
    target = data_dir or base.data_dir / "la-311"
    settings = _settings(target, source=LA_SPEC, host=host, port=port)
    try:
        load_spec(LA_SPEC)
    except SpecError as exc:
        typer.echo(
            f"cannot read the LA source: {exc}\n(the LA data is read in place from "
            "../shared/data/la-311 beside the project)",
            err=True,
        )
        raise typer.Exit(2) from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    report = run_all(settings, skip_if_fresh=True)
    typer.echo(f"LA warehouse at {target}: {json.dumps(report.get('publish', report))}")
    if write_demo_users(settings, scoped=False) is not None:
        typer.echo("demo users admin, leader, analyst (password yiwang-demo) written")
    if serve_after:
        serve(data_dir=target, host=host, port=port)


@app.command()
def snapshot(
    period: Annotated[str, typer.Argument(help="Period id, e.g. m2026-10 (see dim_period)")],
    data_dir: DataDir = None,
    note: Annotated[str, typer.Option(help="Why it was published (shown with it)")] = "",
) -> None:
    """Freeze a period's metrics and rankings as published (docs/metrics.md, Snapshots)."""
    from pipelines import snapshots

    settings = _settings(data_dir)
    try:
        info = snapshots.publish(settings, period, note=note)
    except snapshots.SnapshotError as exc:
        typer.echo(f"cannot publish: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"published {info.snapshot_id} from build {info.build_id} at {info.path}")


@app.command(name="snapshots")
def list_snapshots(
    data_dir: DataDir = None,
    period: Annotated[str | None, typer.Option(help="Only this period")] = None,
) -> None:
    """List published snapshots, newest first."""
    from pipelines import snapshots

    for info in snapshots.list_snapshots(_settings(data_dir), period):
        typer.echo(f"{info.snapshot_id}\tbuild {info.build_id}\t{info.note}")


def _loopback(host: str) -> bool:
    """Whether ``host`` is only reachable from this machine (``127.0.0.0/8``, ``::1``)."""
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _run_server(dash_app: Any, *, host: str, port: int, debug: bool, threads: int = 16) -> None:
    """Serve the app: waitress (a production WSGI server), or Dash's debugger with --debug.

    Waitress answers from a pool of ``threads`` worker threads; the cockpit's work is
    DuckDB queries, which release the GIL, so threads (not processes) share one warehouse
    connection, one figure cache and one rate-limit store. A seam for tests.
    """
    if debug:
        dash_app.run(host=host, port=port, debug=True)
        return
    import waitress

    # ident: no "Server: waitress" banner; channel_timeout: idle keep-alive connections
    # (a wall between refreshes) are closed after two minutes.
    waitress.serve(
        dash_app.server,
        host=host,
        port=port,
        threads=threads,
        ident="",
        channel_timeout=120,
        connection_limit=1000,
    )


@app.command()
def serve(
    data_dir: DataDir = None,
    host: Annotated[str | None, typer.Option(help="Listen address")] = None,
    port: Annotated[int | None, typer.Option(help="Listen port")] = None,
    debug: Annotated[
        bool, typer.Option(help="Dash debug mode, loopback only (never in production)")
    ] = False,
) -> None:
    """Serve the cockpit (reads the published warehouse read-only).

    ``--debug`` turns on Werkzeug's interactive debugger, which runs any Python a visitor
    types into a traceback page: it is refused unless the host is loopback.
    """
    settings = _settings(data_dir, host=host, port=port)
    if debug and not _loopback(settings.host):
        typer.echo(
            f"refusing --debug on {settings.host}: the debugger executes code sent to it; "
            "debug only on loopback (127.0.0.1, ::1, localhost)",
            err=True,
        )
        raise typer.Exit(2)
    from dashboard.app import create_app, start_serving

    current = catalog.path(settings, "warehouse_current")
    if not current.is_file():
        typer.echo(
            f"no published warehouse under {settings.data_dir}; run `yiwang build` first", err=True
        )
        raise typer.Exit(2)
    dash_app = create_app(settings)
    if not debug:
        # background warm-up of the served build, and a frozen heap (dashboard.app)
        start_serving(settings)
    typer.echo(f"yiwang cockpit on http://{settings.host}:{settings.port}/")
    _run_server(
        dash_app,
        host=settings.host,
        port=settings.port,
        debug=debug,
        threads=settings.server_threads,
    )


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def bench(ctx: typer.Context) -> None:
    """The scale benchmark (``make bench``): builds, one-day update, baseline, dashboard.

    Options are those of ``python -m benchmarks`` (``yiwang bench --help-bench``).
    """
    import subprocess

    args = ["--help" if a == "--help-bench" else a for a in ctx.args]
    code = subprocess.call([sys.executable, "-m", "benchmarks", *args], cwd=PROJECT_ROOT)
    raise typer.Exit(code)


@app.command(name="eval")
def eval_(
    sizes: Annotated[str, typer.Option(help="City sizes in requests, comma-separated")] = "300000",
    seeds: Annotated[str, typer.Option(help="Seeds, comma-separated")] = "1,2,3,4,5",
    workdir: Annotated[
        Path | None, typer.Option(help="Folder of the cities (default: data/eval)")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="JSON output (default: artifacts/eval)")] = None,
    window_days: Annotated[int, typer.Option(help="Days per hotspot window (<= 90)")] = 30,
) -> None:
    """Score hotspots and early warning on demo cities against what was planted."""
    from pipelines import evaluate

    logging.basicConfig(level=logging.WARNING)
    evaluate.run(
        [int(s) for s in sizes.split(",") if s.strip()],
        [int(s) for s in seeds.split(",") if s.strip()],
        workdir or evaluate.DEFAULT_WORKDIR,
        out=out or evaluate.DEFAULT_OUT,
        window_days=window_days,
        echo=typer.echo,
    )


def main() -> None:
    """Entry point for ``python -m pipelines``."""
    app()


if __name__ == "__main__":
    main()
