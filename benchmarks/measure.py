"""What the benchmarks measure with: the machine, wall times, back-to-back ratios, peak memory.

Used by every part of `python -m benchmarks.run` (see its docstring for the method).
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import time
import tracemalloc
from pathlib import Path

import numpy as np
import torch

MIB = 2**20


# --- the machine ------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine(device: str) -> dict:
    """What the numbers were measured on."""
    info = {
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_num_threads": torch.get_num_threads(),
        "blas_threads_env": os.environ.get("OPENBLAS_NUM_THREADS", "unset"),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "date_utc": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        "device": device,
    }
    try:
        info["memory_gib"] = round(
            os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1
        )
    except (ValueError, OSError):
        pass
    if device == "cuda":
        info["gpu"] = torch.cuda.get_device_name()
        info["cuda"] = torch.version.cuda
    return info


# --- timing -----------------------------------------------------------------------------------


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def timed_ms(cases: dict, *, warmup: int, reps: int, device: str = "cpu") -> dict:
    """Wall times in ms of every `cases[name]()`: for each case in turn, `warmup` untimed calls
    and then `reps` timed calls back to back. Returns {name: list of times}."""
    times = {}
    for name, fn in cases.items():
        for _ in range(warmup):
            fn()
        _sync(device)
        times[name] = []
        for _ in range(reps):
            start = time.perf_counter()
            fn()
            _sync(device)
            times[name].append((time.perf_counter() - start) * 1e3)
    return times


def paired_ratios(fn_a, fn_b, *, reps: int, device: str = "cpu") -> dict[str, list[float]]:
    """`reps` ratios time(fn_a) / time(fn_b), each from two calls made back to back (the order
    alternates from pair to pair). On a shared machine the load changes from minute to minute;
    a ratio of two calls made seconds apart is far less sensitive to it than a ratio of two
    medians taken minutes apart.

    Returns {"wall": ratios of wall times, "cpu": ratios of this process's CPU times} ("cpu" on
    the CPU only). With one thread, the CPU time leaves out the time the process waited for a
    core while other processes ran, which the wall time of a loaded machine includes."""
    ratios: dict[str, list[float]] = {"wall": [], "cpu": []}
    for rep in range(reps):
        wall, cpu = {}, {}
        for name, fn in (("a", fn_a), ("b", fn_b)) if rep % 2 == 0 else (("b", fn_b), ("a", fn_a)):
            _sync(device)
            start, start_cpu = time.perf_counter(), time.process_time()
            fn()
            _sync(device)
            wall[name] = time.perf_counter() - start
            cpu[name] = time.process_time() - start_cpu
        ratios["wall"].append(wall["a"] / wall["b"])
        ratios["cpu"].append(cpu["a"] / cpu["b"])
    if device != "cpu":
        del ratios["cpu"]
    return ratios


# --- peak memory --------------------------------------------------------------------------------


def numpy_peak_mib(fn) -> float:
    """Peak traced allocation of one call, above what was allocated before it (tracemalloc)."""
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return (peak - before) / MIB


def status_mib(field: str) -> float:
    """A field of /proc/self/status in MiB ("VmRSS": resident now, "VmHWM": peak resident)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024  # the value is in kB
    raise KeyError(field)


def cuda_peak_mib(fn) -> float:
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    fn()
    torch.cuda.synchronize()
    return (torch.cuda.max_memory_allocated() - before) / MIB


def rounded_ratios(times: dict, pairs) -> dict:
    """{"a / b": times[a] / times[b]} for the pairs measured in `times`, rounded."""
    return {
        f"{a} / {b}": round(times[a] / times[b], 3) for a, b in pairs if a in times and b in times
    }
