"""Build the executive dashboard from the current lake and print where it is.

    python -m cx_platform.dashboard            # materialize executive_dashboard (recorded in DAGSTER_HOME)
    python -m cx_platform.dashboard --open     # ... and open it in the default browser
    python -m cx_platform.dashboard --no-dagster --lake /path/to/cx_lake --out /tmp/dashboard.html

The page is one self-contained HTML file (works offline, prints on A4 landscape). By default it is
materialized through Dagster, so the run and the file's path show in the UI; ``--no-dagster`` only renders.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
import webbrowser
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lake", help="lake root (default: CX_LAKE_DIR or ./cx_lake)")
    parser.add_argument("--open", action="store_true", help="open the page in the default browser")
    parser.add_argument("--no-dagster", action="store_true",
                        help="render without recording a materialization in the Dagster instance")
    parser.add_argument("--out", help="with --no-dagster: where to write the page "
                        "(default <lake>/reporting/executive_dashboard.html)")
    args = parser.parse_args(argv)
    if args.out and not args.no_dagster:
        parser.error("--out needs --no-dagster (the asset always writes into the lake)")
    from cx_platform.lib.settings import default_lake_dir

    lake_dir = Path(args.lake or default_lake_dir()).resolve()
    if not (lake_dir / "kpi_operating_daily").exists():
        print(f"no KPI tables in {lake_dir}: run `python -m cx_platform.demo` first, or pass --lake",
              file=sys.stderr)
        return 1
    path = _render(lake_dir, args.out) if args.no_dagster else _materialize(lake_dir)
    if path is None:
        return 1
    print(f"executive dashboard: {path}\n  open: {path.resolve().as_uri()}")
    if args.open:
        webbrowser.open(path.resolve().as_uri())
    return 0


def _render(lake_dir: Path, out: str | None) -> Path:
    from cx_platform.lib import dashboard
    from cx_platform.lib.economics import load_economics
    from cx_platform.lib.lake import Lake
    from cx_platform.lib.settings import default_economics_path

    currency = load_economics(default_economics_path()).currency
    path, _ = dashboard.build(Lake(lake_dir), currency=currency, path=Path(out) if out else None)
    return path


def _materialize(lake_dir: Path) -> Path | None:
    os.environ["CX_LAKE_DIR"] = str(lake_dir)  # read by the code location's resources when it loads
    # the same local instance as the demo (DAGSTER_HOME, default ./.dagster_home, telemetry off)
    from cx_platform.demo import prepare_environment

    prepare_environment()
    warnings.filterwarnings("ignore", message=".*is currently in (beta|preview).*")
    from dagster import DagsterInstance

    from cx_platform.definitions import defs

    result = defs.resolve_job_def("reporting_job").execute_in_process(
        instance=DagsterInstance.get(), raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
    )
    if not result.success:
        print("reporting_job failed; see the run in the Dagster UI", file=sys.stderr)
        return None
    [materialization] = result.asset_materializations_for_node("executive_dashboard")
    return Path(materialization.metadata["path"].value)


if __name__ == "__main__":
    raise SystemExit(main())
