"""Commands of the web capability: ``flopgrid serve`` (API + dashboard) and ``flopgrid report``."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path
from typing import Annotated

import typer

from flopgrid.commands.common import JsonOpt, ScenarioArg, out, print_json, user_errors
from flopgrid.errors import FlopgridError


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return all(ipaddress.ip_address(a[4][0]).is_loopback for a in socket.getaddrinfo(host, None))
        except (OSError, ValueError):
            return False


def register(app: typer.Typer) -> None:
    """Add this capability's commands to the app."""

    @app.command()
    def serve(
        host: Annotated[
            str, typer.Option(help="Address to bind; other than loopback needs --token.")
        ] = "127.0.0.1",
        port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port.")] = 8000,
        token: Annotated[
            str | None,
            typer.Option(envvar="FLOPGRID_TOKEN", help="Require this token on every API call (Bearer)."),
        ] = None,
        store: Annotated[
            Path | None,
            typer.Option(help="Run store (DuckDB file); default: $FLOPGRID_STORE or ./flopgrid.duckdb."),
        ] = None,
        no_store: Annotated[bool, typer.Option("--no-store", help="Do not record runs.")] = False,
        max_jobs: Annotated[
            int, typer.Option(min=1, max=1000, help="Most background jobs queued or running.")
        ] = 8,
        as_json: JsonOpt = False,
    ) -> None:
        """Serve the REST API (OpenAPI docs at /docs) and the dashboard (at /)."""
        with user_errors():
            if not is_loopback(host) and not token:
                raise FlopgridError(
                    f"--host {host}: binding to an address other machines can reach needs --token "
                    "(every API call must then carry it); or keep the default --host 127.0.0.1"
                )
            if token is not None and len(token) < 8:
                raise FlopgridError("--token: use at least 8 characters")
            if store is not None and not store.parent.exists():
                raise FlopgridError(f"--store {store}: the folder {store.parent} does not exist")
        import uvicorn

        from flopgrid.web import Settings, create_app

        settings = Settings(
            token=token, store_path=str(store) if store else None, record=not no_store, max_jobs=max_jobs
        )
        url = f"http://{host}:{port}/"
        if as_json:
            print_json({"url": url, "docs": url + "docs", "auth": token is not None, "store": not no_store})
        else:
            out.print(
                f"flopgrid dashboard at [bold]{url}[/]" + ("?token=…" if token else ""), highlight=False
            )
            out.print(f"API docs at {url}docs", highlight=False)
        uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")

    @app.command()
    def report(
        scenario: ScenarioArg = None,
        output: Annotated[Path, typer.Option("--output", "-o", help="The HTML file to write.")] = Path(
            "report.html"
        ),
        samples: Annotated[
            int, typer.Option("--samples", "-n", min=1, max=100_000, help="Monte Carlo samples.")
        ] = 1,
        seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
        title: Annotated[str | None, typer.Option(help="Heading of the report.")] = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Write one standalone HTML file with the dashboard's charts and tables (works offline)."""
        with user_errors():
            if output.suffix.lower() not in (".html", ".htm"):
                raise FlopgridError(f"--output {output}: a report is HTML; give a name ending in .html")
            if not output.parent.exists():
                raise FlopgridError(f"--output {output}: the folder {output.parent} does not exist")
            from flopgrid.report import write_report
            from flopgrid.scenario import load_scenario
            from flopgrid.simulate import simulate

            loaded = load_scenario(scenario)  # once: the report lists its assumptions and tranches
            results = simulate(loaded, samples=samples, seed=seed)
            path = write_report(results, output, title, scenario=loaded)
        size = path.stat().st_size
        if as_json:
            print_json({"report": str(path), "bytes": size, "scenario": results.attrs.get("scenario")})
        else:
            out.print(f"wrote {path} ({size / 1e6:.1f} MB, opens offline)", highlight=False)
