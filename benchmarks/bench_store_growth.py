"""How the run store grows under slider use of the dashboard (issue 17: "twelve minutes of slider use
grew the store to 340 MB with 43 indistinguishable deterministic runs").

A server (uvicorn, one worker, a fresh DuckDB store, as ``flopgrid serve``) from the source tree given
by ``--src`` gets what a dragged slider sends: ``--positions`` campus sizes of ``seed-7t``, each
visited ``--visits`` times, as deterministic ``POST /api/simulate`` requests with charts (as the
dashboard sends them, without ``record``). Once the server's recorder is idle, the store's runs and
bytes are printed. Run it once with the code before a change and once after:

    .venv/bin/python benchmarks/bench_store_growth.py --src /path/to/old/src
    .venv/bin/python benchmarks/bench_store_growth.py --src src
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import httpx

from bench_web_job import free_port

SERVER = """
import sys, uvicorn
from flopgrid.web import Settings, create_app
uvicorn.run(create_app(Settings(store_path=sys.argv[2])), host="127.0.0.1", port=int(sys.argv[1]),
            log_level="warning")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--src", default="src", help="The source tree the server runs (its PYTHONPATH).")
    parser.add_argument("--positions", type=int, default=20)
    parser.add_argument("--visits", type=int, default=3)
    args = parser.parse_args()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as folder:
        store = Path(folder) / "runs.duckdb"
        env = {**os.environ, "PYTHONPATH": str(Path(args.src).resolve())}
        server = subprocess.Popen([sys.executable, "-c", SERVER, str(port), str(store)], env=env)
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    if httpx.get(url + "/api/health", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    raise SystemExit("the server did not start")
                time.sleep(0.2)
            sizes = [round(0.5 + 0.5 * k, 1) for k in range(args.positions)]
            answers: dict[str, int] = {}
            with httpx.Client(base_url=url, timeout=120) as http:
                for _ in range(args.visits):
                    for size in sizes:
                        body = {"scenario": "seed-7t", "assumptions": {"campus_gw": size}, "charts": True}
                        recorded = str(http.post("/api/simulate", json=body).json()["recorded"])
                        answers[recorded] = answers.get(recorded, 0) + 1
                # The recorder writes in the background: wait until it has nothing queued.
                while http.get("/api/health").json()["capabilities"]["recorder"]["pending"]:
                    if time.monotonic() > deadline + 600:
                        raise SystemExit("the recorder did not finish")
                    time.sleep(0.2)
        finally:
            server.terminate()
            server.wait(timeout=60)
        runs = 0
        if store.exists():
            with duckdb.connect(str(store), read_only=True) as con:
                row = con.execute("SELECT count(*) FROM runs").fetchone()
                runs = int(row[0]) if row else 0
        size = sum(p.stat().st_size for p in Path(folder).glob("runs.duckdb*"))
    print(f"bench_store_growth: server from {args.src}")
    requests = args.positions * args.visits
    print(f"{args.positions} slider positions × {args.visits} visits = {requests} requests")
    print(f"'recorded' answers: {answers}")
    print(f"store: {runs} runs, {size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
