"""Time the full strict site build (both languages, figures included): median of three cold builds.

Run with `make bench-docs` or `python -m benchmarks.docs_build`. Each build runs in its own process
with the figure cache off, so every figure is drawn; by default figures are drawn by worker
processes as in a normal build (`--serial` draws them in the build process). Writes
`benchmarks/results/docs_build.json` with wall and CPU times and the machine's load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results" / "docs_build.json"


def build_once(site_dir: Path, serial: bool) -> tuple[float, float]:
    """One cold `mkdocs build --strict`; returns (wall seconds, CPU seconds of the child)."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "QKV_FIGURE_CACHE": "0"}
    env.pop("QKV_ALLOW_MISSING_CHECKS", None)
    if serial:
        env["QKV_FIGURE_WORKERS"] = "0"
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        sys.exit(f"the strict build failed:\n{result.stderr[-3000:]}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="number of cold builds (default 3)")
    parser.add_argument("--serial", action="store_true", help="no figure worker processes")
    args = parser.parse_args(argv)
    walls, cpus = [], []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.repeat):
            wall, cpu = build_once(Path(tmp) / f"site{i}", args.serial)
            walls.append(round(wall, 2))
            cpus.append(round(cpu, 2))
            print(f"build {i + 1}: wall {wall:.1f} s, CPU {cpu:.1f} s")
    result = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "processor": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
        },
        "serial": args.serial,
        "wall_s": walls,
        "cpu_s": cpus,
        "median_wall_s": statistics.median(walls),
        "median_cpu_s": statistics.median(cpus),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(
        f"median of {args.repeat}: wall {result['median_wall_s']:.1f} s, "
        f"CPU {result['median_cpu_s']:.1f} s -> {RESULTS.relative_to(ROOT)}"
    )


if __name__ == "__main__":
    main()
