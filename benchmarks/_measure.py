"""Measurement plumbing shared by benchmarks.latency and benchmarks.scale.

Each measurement runs in a child process (``python -m MODULE --worker NAME``) pinned to one core with onnxruntime
and BLAS on one thread; the parent collects its JSON result. Also: /proc readings (RSS), percentile summaries of
durations, run metadata and writing the results.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("benchmarks.measure")

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("EDGE_NLU_BENCH_CACHE") or Path.home() / ".cache" / "edge-nlu-bench")
ONE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")}
WORKER_TIMEOUT = 1800


def default_model_dir() -> Path:
    return ROOT / "edge_nlu" / "models" / "default"


# --- readings -----------------------------------------------------------------------------------------------------


def proc_status(pid: int | str = "self") -> dict[str, int]:
    """VmRSS / VmHWM (peak) / VmSize of a process, in bytes."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("VmRSS", "VmHWM", "VmSize", "RssAnon", "RssFile"):
                    out[key] = int(rest.split()[0]) * 1024
    except OSError:
        pass
    return out


def rss_mb(pid: int | str = "self") -> float:
    return proc_status(pid).get("VmRSS", 0) / 2**20


def summarize(ns: list[int]) -> dict:
    """p50/p90/p99/mean/min/max in milliseconds of a list of nanosecond durations."""
    import numpy as np

    if not ns:
        return {}
    a = np.asarray(ns, dtype=np.float64) / 1e6
    q = np.percentile(a, [50, 90, 95, 99])
    return {
        "n": len(ns),
        "p50": round(float(q[0]), 4),
        "p90": round(float(q[1]), 4),
        "p95": round(float(q[2]), 4),
        "p99": round(float(q[3]), 4),
        "mean": round(float(a.mean()), 4),
        "min": round(float(a.min()), 4),
        "max": round(float(a.max()), 4),
    }


def file_sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]


def load_texts(dataset: str, split: str, n: int | None) -> tuple[list[str], list]:
    from edge_nlu.data import split_path
    from edge_nlu.definitions.jsonl import read_jsonl

    rows = read_jsonl(split_path(dataset, split))
    rows = rows[:n] if n else rows
    return [u.text for u in rows], rows


# --- pinned child workers -----------------------------------------------------------------------------------------


def pin_cmd(core: int) -> list[str]:
    return ["taskset", "-c", str(core)] if shutil.which("taskset") else []


def child_env() -> dict:
    env = {**os.environ, **ONE_THREAD, "PYTHONHASHSEED": "0"}
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def pin_self(core: int) -> None:
    """Fallback when taskset is missing: pin this process (children inherit it)."""
    if hasattr(os, "sched_setaffinity") and not shutil.which("taskset"):
        try:
            os.sched_setaffinity(0, {core})
        except OSError:
            pass


def run_worker(module: str, name: str, args: list[str], core: int, timeout: int = WORKER_TIMEOUT) -> dict:
    """Run ``python -m MODULE --worker NAME ARGS`` pinned to ``core``; returns its JSON result or an error dict."""
    fd, res = tempfile.mkstemp(prefix=f"bench-{name}-", suffix=".json")
    os.close(fd)
    cmd = [*pin_cmd(core), sys.executable, "-m", module, "--worker", name, "--result", res, "--core", str(core), *args]
    log.info("worker %s: %s", name, " ".join(cmd))
    t0 = time.perf_counter()
    tail: collections.deque[str] = collections.deque(maxlen=40)
    try:
        proc = subprocess.Popen(cmd, env=child_env(), cwd=str(ROOT), stderr=subprocess.PIPE, text=True)
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        try:
            for line in proc.stderr:  # the worker's log, passed on as it comes (progress with rates)
                line = line.rstrip()
                tail.append(line)
                print(f"  [{name}] {line}", file=sys.stderr, flush=True)
            rc = proc.wait()
        finally:
            timer.cancel()
        if rc != 0:
            why = "killed (timed out?)" if rc < 0 else f"rc {rc}"
            return {"error": f"worker {name} failed ({why}): " + " | ".join(list(tail)[-8:])[-1200:]}
        data = json.loads(Path(res).read_text() or "{}")
        data.setdefault("worker_seconds", round(time.perf_counter() - t0, 1))
        return data
    except (OSError, ValueError) as e:
        return {"error": f"worker {name}: {e.__class__.__name__}: {e}"}
    finally:
        Path(res).unlink(missing_ok=True)


# --- the command line of a benchmark script (parent and its --worker children) -----------------------------------


def add_output_args(ap: argparse.ArgumentParser, json_path: Path, png_path: Path) -> None:
    """``--json``/``--png`` (where the results go) and the hidden ``--worker``/``--result`` of a child."""
    ap.add_argument("--json", default=str(json_path))
    ap.add_argument("--png", default=str(png_path))
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)


def parse_args(ap: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """Parse, set up logging, resolve ``--model`` (default: the embedded model), one thread for BLAS/onnxruntime."""
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    a.model = str(Path(a.model).resolve()) if a.model else str(default_model_dir())
    for k, v in ONE_THREAD.items():
        os.environ.setdefault(k, v)
    return a


def serve_worker(a: argparse.Namespace, workers: dict[str, Callable[[argparse.Namespace], dict]]) -> int:
    """In a child started by :func:`run_worker`: pin, run worker ``a.worker``, write its result to ``a.result``."""
    pin_self(a.core)
    logging.getLogger("edge_nlu").setLevel(logging.WARNING)  # no line per installed skill
    out = workers[a.worker](a)
    Path(a.result).write_text(json.dumps(out, default=str))
    return 0


# --- results ------------------------------------------------------------------------------------------------------


ISA = (
    ("avx512_vnni", "AVX-512 VNNI"),
    ("avx_vnni", "AVX-VNNI"),
    ("avx512f", "AVX-512"),
    ("avx2", "AVX2"),
    ("asimd", "NEON"),
)


def machine_info() -> dict:
    info = {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()}
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                info["cpu_model"] = line.split(":", 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    try:  # the int8 kernels onnxruntime picks (VNNI or not) change the teacher's speed several-fold
        flags = next(
            (
                ln.split(":", 1)[1].split()
                for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith(("flags", "Features"))  # x86 / Arm
            ),
            [],
        )
        info["isa"] = next((n for f, n in ISA if f in flags), "baseline")
    except OSError:
        pass
    try:
        info["loadavg_at_start"] = [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except (OSError, ValueError):
        pass
    try:
        import numpy
        import onnxruntime

        info["onnxruntime"] = onnxruntime.__version__
        info["numpy"] = numpy.__version__
    except ImportError:
        pass
    return info


def git_commit() -> dict:
    def git(*a):
        r = subprocess.run(["git", *a], capture_output=True, text=True, cwd=str(ROOT), timeout=20)
        return r.stdout.strip() if r.returncode == 0 else None

    return {"commit": git("rev-parse", "HEAD"), "runtime_dirty": bool(git("status", "--porcelain", "edge_nlu"))}


def run_meta(module: str, argv: list[str] | None, model: str, t_all: float, **extra) -> dict:
    """The ``meta`` of a result: command line, date, machine, commit, model, ``extra``, seconds since ``t_all``."""
    return {
        "command": f"python -m {module} " + " ".join(sys.argv[1:] if argv is None else argv),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": machine_info(),
        **git_commit(),
        "model": model,
        **extra,
        "seconds": round(time.perf_counter() - t_all, 1),
    }


def write_json(path: Path, obj: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1, default=str))
    os.replace(tmp, path)


def publish(res: dict, a: argparse.Namespace, t_all: float, logger: logging.Logger) -> None:
    """Write ``res`` to ``--json``, print its table; the plot (``--png``) is the caller's, written before."""
    write_json(Path(a.json), res)
    print(res["table_markdown"])
    logger.info("wrote %s and %s in %.0f s", a.json, a.png, time.perf_counter() - t_all)
