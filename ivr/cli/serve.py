"""`ivr serve`: the web service under gunicorn, with its scheduler beside it."""

from __future__ import annotations

import click

from ivr.settings import get_settings


@click.command("serve")
@click.option("--host", default=None, help="Address to listen on (default: IVR_HOST).")
@click.option("--port", default=None, type=int, help="Port (default: IVR_PORT).")
@click.option("--workers", default=None, type=int, help="Web workers (default: IVR_WORKERS).")
@click.option(
    "--scheduler/--no-scheduler",
    default=True,
    show_default=True,
    help="Also run the scheduler (one process, beside the web workers).",
)
def serve(host: str | None, port: int | None, workers: int | None, scheduler: bool) -> None:
    """Run the web service under gunicorn (embedded SQLite and demo configuration by default)."""
    import subprocess
    import sys

    from ivr.app import create_app
    from ivr.cli.server import GunicornServer
    from ivr.metrics import gunicorn_options

    settings = get_settings()
    app = create_app(settings)
    bind = f"{host or settings.host}:{port or settings.port}"
    click.echo(f"ivr: serving on http://{bind}  (database: {settings.effective_database_url})")
    # The scheduler is its own process, never one per web worker.
    child = subprocess.Popen([sys.executable, "-m", "ivr.cli", "scheduler"]) if scheduler else None
    try:
        options = {"bind": bind, "workers": workers or settings.workers, "accesslog": "-"}
        GunicornServer(app, options | gunicorn_options()).run()
    finally:
        if child is not None:
            child.terminate()
            child.wait(timeout=10)
