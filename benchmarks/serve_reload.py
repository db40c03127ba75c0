"""Time the contributor's loop: from saving a one-paragraph edit of a page to the served page
holding it, under `make serve` (`mkdocs serve --dirty`).

Run with `python -m benchmarks.serve_reload` (after `make setup`). It starts the server on a free
port, waits for its first build, then edits the first paragraph of the softmax page `--edits`
times (a new sentence each time), and for each edit polls the served page every 20 ms until it
holds the new sentence. The page is restored afterwards, even on failure. Writes
`benchmarks/results/serve_reload.json` with every time, the median and the machine's load.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "concepts" / "softmax.en.md"
URL = "http://127.0.0.1:{port}/concepts/softmax/"
RESULTS = ROOT / "benchmarks" / "results" / "serve_reload.json"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _served(port: int) -> str:
    try:
        with urllib.request.urlopen(URL.format(port=port), timeout=5) as response:
            return response.read().decode("utf-8", errors="replace")
    except OSError:
        return ""


def _wait_for(port: int, text: str, timeout: float) -> float:
    """Seconds until the served page holds `text` (polled every 20 ms)."""
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if text in _served(port):
            return time.perf_counter() - start
        time.sleep(0.02)
    raise TimeoutError(f"the served page did not show {text!r} within {timeout} s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--edits", type=int, default=5, help="number of edits (default 5)")
    args = parser.parse_args(argv)
    original = PAGE.read_bytes()
    port = _free_port()
    server = subprocess.Popen(
        ["make", "--no-print-directory", "serve-only", f"PORT={port}"],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    times: list[float] = []
    try:
        first_build = _wait_for(port, "<h1", timeout=300)
        load = os.getloadavg()
        text = original.decode("utf-8")
        title_end = text.index("\n\n", text.index("# ")) + 2  # the first paragraph starts here
        for i in range(args.edits):
            time.sleep(1.5)  # the server settles after the previous rebuild
            marker = f"Edit number {i + 1} of this timing run."
            edited = f"{text[:title_end]}{marker} {text[title_end:]}"
            start = time.perf_counter()
            PAGE.write_text(edited, encoding="utf-8")
            _wait_for(port, marker, timeout=60)
            times.append(time.perf_counter() - start)
    finally:
        PAGE.write_bytes(original)
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    result = {
        "what": "seconds from saving a one-paragraph edit of a page to the served page holding it",
        "command": "make serve (mkdocs serve --dirty --no-strict)",
        "first_build_s": round(first_build, 2),
        "edits_s": [round(t, 3) for t in times],
        "median_s": round(statistics.median(times), 3),
        "load_average_during": [round(x, 2) for x in load],
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
    }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
