"""Raspberry-Pi-class proof: the wheel on aarch64 (emulated), instruction counts, Pi 4/5 estimates, a 256 MB cap.

    python -m benchmarks.pi [--model DIR] [--skip-setup] [--phases setup,wheel,emulate,insn,x86,memory,write]
    python benchmarks/pi.py --native [--model DIR] [--json OUT]        # on a real Pi (or any machine): time parses

Phases (each keeps its numbers in ``benchmarks/results/raw/pi/state.json``, so a phase can be re-run alone):

- setup: the aarch64 recipe (``../shared/tools/aarch64/recipe.sh``: Debian 12 arm64 userland via debootstrap,
  qemu-user, numpy/onnxruntime/tokenizers from PyPI's aarch64 wheels). ``ARM_MODE=explicit`` (qemu called directly
  with ``-L ROOTFS``; no binfmt_misc needed) unless ``ARM_MODE`` says otherwise. The wall time of the set-up is kept
  in ``ARMEMU_DIR/pi-setup.json`` when this script (or an earlier run of it) did it.
- wheel: ``pip wheel --no-deps`` of a copy of the source tree (the wheel carries ``edge_nlu/models/default``); its
  aarch64 dependencies are downloaded by the host's pip (PyPI only) and the wheel is installed on aarch64 by the
  *emulated* pip, offline (``--no-index --find-links``), dependencies included, into ``ARMEMU_DIR/site-pi``. The
  same wheel is installed (``--no-deps``) for the x86 reference, so both sides run the same code.
- emulate: parse the SNIPS test set (skill "snips") and the HWU64 test set (each row's skill) on emulated aarch64
  (a subset first, timed, then everything) and on x86 (same wheel, same model); compare intent, slots, skill,
  out-of-scope (exactly) and confidence (within 1e-4).
- insn: aarch64 instructions per parse with a QEMU TCG plugin (the recipe's ``insncount`` counter, plus a marker: a
  ``getppid`` syscall between parses makes the plugin record the running count, so each parse gets its own count).
  Two processes per CPU model: load + warm-up + N parses, and the same with 0 parses; per-parse = marks (median,
  p99) and (total(N) - total(0)) / N as a cross-check. cortex-a72 (Pi 4) and cortex-a76 (Pi 5; onnxruntime sees
  the dot-product HWCAP there).
- x86: CPU time per parse (``time.thread_time_ns``) on one pinned core (``taskset``), same utterances and modes.
- memory: the x86 parse of the whole SNIPS test set under ``prlimit --as=268435456`` (256 MB of address space).
- write: ``benchmarks/results/pi/pi.json`` (``section`` "pi", ``table_markdown``) for benchmarks/report.py.

Parse modes: "given" = ``parse(text, skill=row's skill)``; "routed" = ``parse(text)`` over every enabled skill of
the model (the device default and the slower path). Every heavy child runs under ``nice -n 19`` with one thread.
The worker half of this file (``--worker``) imports only the standard library and ``edge_nlu``, so it runs on
aarch64 from the installed wheel (``python /path/to/benchmarks/pi.py --worker ...``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RECIPE = Path(os.environ.get("EDGE_NLU_ARM_RECIPE") or ROOT.parent / "shared" / "tools" / "aarch64" / "recipe.sh")
ARMEMU = Path(os.environ.get("ARMEMU_DIR") or Path(os.environ.get("TMPDIR") or "/tmp") / "edge-nlu-aarch64")
WORK = HERE / "results" / "raw" / "pi"  # git-ignored; not under /tmp (qemu -L would look inside the rootfs first)
OUT_JSON = HERE / "results" / "pi" / "pi.json"
DEFAULT_MODEL = ROOT / "edge_nlu" / "models" / "default"
CPUS = ("cortex-a72", "cortex-a76")
ONE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}
CONF_TOL = 1e-4
MEM_CAP = 268435456
PHASES = ("setup", "wheel", "emulate", "insn", "x86", "memory", "write")
PLAT = ["--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp"] + [
    a for p in ("manylinux2014_aarch64", "manylinux_2_17_aarch64", "manylinux_2_28_aarch64") for a in ("--platform", p)
]
# Pi assumptions (see PI.md): clock range and sustained IPC range for this code (Python interpreter + numpy + small
# int8 ONNX kernels: branchy, cache-resident; A72 is 3-wide OoO, A76 4-wide with a much better front end)
PI = {
    "cortex-a72": {"board": "Pi 4", "ghz": (1.5, 1.8), "ipc": (0.8, 1.5)},
    "cortex-a76": {"board": "Pi 5", "ghz": (2.4, 2.4), "ipc": (1.2, 2.0)},
}
PI4_FACTOR = (10.0, 25.0)  # Pi 4 core vs modern x86 core on int8 GEMM (aarch64 recipe README)
GOAL_P99_MS = 20.0
WARM = (
    "set an alarm for seven thirty tomorrow morning",
    "play some jazz music by miles davis",
    "what's the weather like in paris today",
)


# --- worker (runs on x86 and on emulated aarch64; stdlib + edge_nlu only) ------------------------------------------


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    if not s:
        return float("nan")
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def _worker(args: argparse.Namespace) -> int:
    t0 = time.perf_counter()
    import edge_nlu
    from edge_nlu.errors import EdgeNLUError

    nlu = edge_nlu.load(None if args.model == "default" else args.model)
    load_s = time.perf_counter() - t0
    rows = [json.loads(line) for line in Path(args.texts).read_text(encoding="utf-8").splitlines() if line.strip()]
    modes = args.modes.split(",")
    skills_used = sorted({r["skill"] for r in rows if r.get("skill")})
    for text in WARM:  # loads every skill (routing) and the ones given, before anything is measured
        nlu.parse(text)
        for s in skills_used:
            nlu.parse(text, skill=s)
    n = len(rows) if args.n is None else min(args.n, len(rows))
    cold: dict[str, list[float]] = {m: [] for m in modes}
    if args.warm_all:  # steady state: the first parse that meets a slot type initialises its resolver (one-time cost)
        for row in rows:
            for m in modes:
                c0 = time.thread_time_ns()
                try:
                    nlu.parse(row["text"], skill=row.get("skill") if m == "given" else None)
                except EdgeNLUError:
                    pass
                cold[m].append((time.thread_time_ns() - c0) / 1e6)
    out = []
    cpu: dict[str, list[float]] = {m: [] for m in modes}
    wall: dict[str, list[float]] = {m: [] for m in modes}
    t1 = time.perf_counter()
    for i, row in enumerate(rows[:n]):
        for m in modes:
            skill = row.get("skill") if m == "given" else None
            os.getppid()  # marker for the instruction-count plugin (a getppid syscall records the running count)
            w0, c0 = time.perf_counter_ns(), time.thread_time_ns()
            try:
                r = nlu.parse(row["text"], skill=skill)
                rec = {
                    "skill": r.skill,
                    "intent": r.intent,
                    "confidence": r.confidence,
                    "oos": r.out_of_scope,
                    "slots": [[s.slot, s.start, s.end, s.value] for s in r.slots],
                }
            except EdgeNLUError as e:
                rec = {"error": f"{type(e).__name__}: {e}"}
            c1, w1 = time.thread_time_ns(), time.perf_counter_ns()
            os.getppid()
            cpu[m].append((c1 - c0) / 1e6)
            wall[m].append((w1 - w0) / 1e6)
            if args.out:
                out.append({"i": i, "mode": m, **rec})
    parse_s = time.perf_counter() - t1
    import numpy
    import onnxruntime
    import tokenizers

    meta = {
        "machine": platform.machine(),
        "python": platform.python_version(),
        "edge_nlu_file": edge_nlu.__file__,
        "versions": {
            "edge_nlu": getattr(edge_nlu, "__version__", None),
            "numpy": numpy.__version__,
            "onnxruntime": onnxruntime.__version__,
            "tokenizers": tokenizers.__version__,
        },
        "model_dir": str(nlu.model_dir),
        "base_id": nlu.base.base_id,
        "skills": len(nlu.skills),
        "n": n,
        "modes": modes,
        "load_s": round(load_s, 3),
        "parse_s": round(parse_s, 3),
        "cpu_ms": cpu,
        "cold_cpu_ms": cold,
        "wall_ms": wall,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            for rec in out:
                f.write(json.dumps(rec, ensure_ascii=False) + "\n")
    with open(args.meta, "w", encoding="utf-8") as f:
        json.dump(meta, f)
    return 0


def _native(args: argparse.Namespace) -> int:
    """Time parses natively (for a real Pi): SNIPS + HWU64 test when the data is there, else the CLI's bench set."""
    texts = WORK / "native_texts.jsonl"
    WORK.mkdir(parents=True, exist_ok=True)
    try:
        rows = _test_rows(args.limit)
    except OSError:
        from edge_nlu.cli import BENCH_UTTERANCES

        rows = [{"text": t, "skill": None} for t in BENCH_UTTERANCES]
        print("pi: no SNIPS/HWU64 data found; timing the edge-nlu bench utterances", file=sys.stderr)
    rows = _keep_known(rows, args.model)
    texts.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    meta = WORK / "native_meta.json"
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--texts", str(texts), "--meta", str(meta)]
    cmd += ["--model", str(args.model) if args.model else "default", "--modes", "given,routed"]
    subprocess.run(cmd, check=True, env={**os.environ, **ONE_THREAD})
    m = json.loads(meta.read_text())
    res = {"machine": m["machine"], "platform": platform.platform(), "n": m["n"], "load_s": m["load_s"]}
    res["cpu_model"] = _cpu_model()
    for mode in ("given", "routed"):
        for kind in ("cpu_ms", "wall_ms"):
            v = m[kind][mode]
            res[f"{mode}_{kind[:-3]}_p50_ms"] = round(_pct(v, 0.5), 3)
            res[f"{mode}_{kind[:-3]}_p99_ms"] = round(_pct(v, 0.99), 3)
            res[f"{mode}_{kind[:-3]}_mean_ms"] = round(statistics.fmean(v), 3)
    res["peak_rss_mb"] = m["peak_rss_mb"]
    res["versions"] = m["versions"]
    print(json.dumps(res, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1) + "\n")
    return 0


def _cpu_model() -> str | None:
    try:
        txt = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or None
    for key in ("model name", "Model", "CPU part"):
        m = re.search(rf"^{key}\s*:\s*(.+)$", txt, re.M)
        if m:
            return m.group(1).strip()
    return None


# --- host side ---------------------------------------------------------------------------------------------------


def _log(msg: str) -> None:
    print(f"[pi {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _nice(cmd: list[str]) -> list[str]:
    return ["nice", "-n", "19", *cmd]


def _run(cmd: list[str], env: dict | None = None, **kw) -> subprocess.CompletedProcess:
    _log("$ " + " ".join(map(str, cmd))[:300])
    return subprocess.run(_nice([str(c) for c in cmd]), env={**os.environ, **ONE_THREAD, **(env or {})}, **kw)


def _test_rows(limit: int | None = None) -> list[dict]:
    from edge_nlu.data import split_path

    rows = []
    for ds in ("snips", "hwu64"):
        for line in split_path(ds, "test").read_text(encoding="utf-8").splitlines():
            if line.strip():
                u = json.loads(line)
                rows.append({"set": ds, "text": u["text"], "skill": "snips" if ds == "snips" else u["skill"]})
    return rows[:limit] if limit else rows


def _model_skills(model: str | None) -> set[str]:
    d = Path(model) if model else DEFAULT_MODEL
    return {p.stem for p in (d / "skills").glob("*.skill")}


def _keep_known(rows: list[dict], model: str | None) -> list[dict]:
    known = _model_skills(model)
    return [r for r in rows if r.get("skill") is None or r["skill"] in known] if known else rows


def _state_load() -> dict:
    p = WORK / "state.json"
    return json.loads(p.read_text()) if p.exists() else {}


def _state_save(state: dict) -> None:
    (WORK / "state.json").write_text(json.dumps(state, indent=1) + "\n")


def _cpuinfo(cpu: str) -> str:  # the recipe's fake ARM /proc/cpuinfo (onnxruntime's cpuinfo needs ARM format)
    part, var, rev, feat = {
        "cortex-a72": ("0xd08", "0x0", 3, "fp asimd evtstrm crc32 cpuid"),
        "cortex-a76": (
            "0xd0b",
            "0x4",
            1,
            "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp",
        ),
    }[cpu]
    return "".join(
        f"processor\t: {i}\nBogoMIPS\t: 108.00\nFeatures\t: {feat}\nCPU implementer\t: 0x41\nCPU architecture: 8\n"
        f"CPU variant\t: {var}\nCPU part\t: {part}\nCPU revision\t: {rev}\n\n"
        for i in range(os.cpu_count() or 1)
    )


def _arm_cmd(cpu: str, script_args: list[str], plugin: Path | None = None, count_out: Path | None = None):
    """(argv, env) running ``python3.11 script_args`` on aarch64 via qemu -L ROOTFS (explicit mode)."""
    rootfs = ARMEMU / "rootfs"
    (rootfs / "proc").mkdir(parents=True, exist_ok=True)
    (rootfs / "proc" / "cpuinfo").write_text(_cpuinfo(cpu))
    pp = f"{ARMEMU / 'site-pi'}:{ARMEMU / 'site'}"  # the wheel, then the recipe's aarch64 numpy/onnxruntime/tokenizers
    env = {"HOME": "/root", "LANG": "C.UTF-8", "PATH": "/usr/bin:/bin", "PYTHONPATH": pp}
    env.update(ONE_THREAD)
    if plugin is not None:
        env["INSNCOUNT_OUT"] = str(count_out)
        qemu = ["qemu-aarch64", "-L", str(rootfs), "-cpu", cpu, "-plugin", str(plugin)]
    else:
        qemu = ["qemu-aarch64-static", "-L", str(rootfs), "-cpu", cpu]
    return _nice([*qemu, str(rootfs / "usr/bin/python3.11"), *script_args]), env


def phase_setup(state: dict, args: argparse.Namespace) -> None:
    rec_file = ARMEMU / "pi-setup.json"
    ready = (ARMEMU / "rootfs/usr/bin/python3.11").exists() and (ARMEMU / ".pkgs-stamp").exists()
    if args.skip_setup or ready:
        rec = json.loads(rec_file.read_text()) if rec_file.exists() else {"wall_s": None}
        rec["reused"] = True
        state["setup"] = rec
        _log(f"aarch64 userland already set up at {ARMEMU} (setup took {rec.get('wall_s')} s when it was built)")
    else:
        env = {"ARM_MODE": os.environ.get("ARM_MODE", "explicit"), "HOSTPY": sys.executable}
        t0 = time.perf_counter()
        cmd = [
            str(RECIPE),
            "run",
            "-c",
            "import platform, onnxruntime; print(platform.machine(), onnxruntime.__version__)",
        ]
        p = _run(cmd, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        ARMEMU.mkdir(parents=True, exist_ok=True)  # a recipe that failed at once (e.g. not found) made no folder
        (ARMEMU / "pi-setup.log").write_text(p.stderr)
        if p.returncode != 0:
            sys.exit(f"pi: recipe set-up failed (rc {p.returncode}); log in {ARMEMU / 'pi-setup.log'}")
        rec = setup_record(p.stderr, wall, env["ARM_MODE"])
        rec_file.write_text(json.dumps(rec, indent=1) + "\n")
        state["setup"] = {**rec, "reused": False}
    if not shutil.which("qemu-aarch64"):  # the dynamic qemu (loads TCG plugins), as the recipe's insncount does
        t0 = time.perf_counter()
        _run(["apt-get", "install", "-y", "-qq", "qemu-user"], env={"DEBIAN_FRONTEND": "noninteractive"}, check=True)
        state["setup"]["qemu_user_install_s"] = round(time.perf_counter() - t0, 1)


def setup_record(log_text: str, wall_s: float, mode: str) -> dict:
    """Set-up time and the recipe's step times from its stderr."""
    steps = {}
    for m in re.finditer(r"step '(\w+)' took ([\d.]+)s", log_text):
        steps[m.group(1)] = steps.get(m.group(1), 0.0) + float(m.group(2))
    return {
        "wall_s": round(wall_s, 1),
        "mode": mode,
        "steps_s": steps,
        "date": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "host_cpus": os.cpu_count(),
    }


def phase_wheel(state: dict, args: argparse.Namespace) -> None:
    src, dist = WORK / "src", WORK / "dist"
    shutil.rmtree(src, ignore_errors=True)
    shutil.rmtree(dist, ignore_errors=True)
    src.mkdir(parents=True)
    ign = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    for name in ("edge_nlu", "export", "quantize"):
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, ignore=ign)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, src / name)
    t0 = time.perf_counter()
    _run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(src), "-w", str(dist)],
        check=True,
    )
    whl = next(dist.glob("edge_nlu-*.whl"))
    import zipfile

    names = zipfile.ZipFile(whl).namelist()
    embedded = any(n.startswith("edge_nlu/models/default/base/") for n in names)
    rec = {"wheel": whl.name, "bytes": whl.stat().st_size, "embedded_model": embedded, "build_s": 0.0}
    rec["build_s"] = round(time.perf_counter() - t0, 1)
    # aarch64 dependencies by the host pip (PyPI), then the emulated pip installs offline
    wdir = ARMEMU / "wheels"
    wdir.mkdir(parents=True, exist_ok=True)
    shutil.copy2(whl, wdir / whl.name)
    t0 = time.perf_counter()
    _run([sys.executable, "-m", "pip", "download", "-q", *PLAT, "-d", str(wdir), str(wdir / whl.name)], check=True)
    rec["download_deps_s"] = round(time.perf_counter() - t0, 1)
    # Emulated pip is slow on a busy 2-core host (qemu at nice 19), so by default the emulated pip installs the wheel
    # alone (--no-deps) into site-pi, next to the dependencies the recipe installed (emulated pip, offline, from the
    # same aarch64 wheels) in ARMEMU_DIR/site; --full-install resolves the dependencies from the wheel's metadata too.
    site = ARMEMU / "site-pi"
    shutil.rmtree(site, ignore_errors=True)
    pip = ["-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-index", "--find-links", str(wdir)]
    pip += [] if args.full_install else ["--no-deps"]
    cmd, env = _arm_cmd("cortex-a72", [*pip, "--target", str(site), str(wdir / whl.name)])
    env["PYTHONPATH"] = ""
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    rec["emulated_pip_install_s"] = round(time.perf_counter() - t0, 1)
    rec["install"] = "with its dependencies" if args.full_install else "--no-deps; deps from the recipe's install"
    if p.returncode != 0:
        sys.exit(f"pi: emulated pip install failed:\n{p.stderr[-3000:]}")
    rec["installed_on_aarch64"] = sorted(d.name for d in site.glob("*.dist-info"))
    rec["aarch64_deps"] = sorted(d.name for d in (ARMEMU / "site").glob("*.dist-info"))
    x86 = WORK / "x86site"
    shutil.rmtree(x86, ignore_errors=True)
    _run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(x86), str(whl)], check=True)
    state["wheel"] = rec
    _log(
        f"wheel {whl.name} ({rec['bytes'] / 1e6:.1f} MB, embedded model: {embedded}); "
        f"aarch64: {rec['installed_on_aarch64']}"
    )


def _model_arg(args: argparse.Namespace) -> str:
    return str(Path(args.model).resolve()) if args.model else "default"


def _x86_worker(args, texts: Path, meta: Path, out: Path | None, modes: str, n=None, pin=None, cap=None, warm=False):
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--texts", str(texts), "--meta", str(meta)]
    cmd += ["--warm-all"] if warm else []
    cmd += ["--model", _model_arg(args), "--modes", modes] + (["--out", str(out)] if out else [])
    cmd += ["--n", str(n)] if n is not None else []
    pre = (["taskset", "-c", str(pin)] if pin is not None else []) + (
        ["prlimit", f"--as={cap}"] if cap is not None else []
    )
    env = {"PYTHONPATH": str(WORK / "x86site")}
    return _run([*pre, *cmd], env=env, capture_output=True, text=True)


def _arm_worker(args, cpu: str, texts: Path, meta: Path, out, modes: str, n=None, plugin=None, cnt=None, warm=False):
    sargs = [str(Path(__file__).resolve()), "--worker", "--texts", str(texts), "--meta", str(meta)]
    sargs += ["--warm-all"] if warm else []
    sargs += ["--model", _model_arg(args), "--modes", modes] + (["--out", str(out)] if out else [])
    sargs += ["--n", str(n)] if n is not None else []
    cmd, env = _arm_cmd(cpu, sargs, plugin, cnt)
    _log("$ (aarch64 " + cpu + ") " + " ".join(sargs)[:200])
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"pi: emulated worker failed (rc {p.returncode}):\n{p.stderr[-3000:]}")
    return time.perf_counter() - t0


def _compare(a: Path, b: Path) -> dict:
    ra = [json.loads(x) for x in a.read_text(encoding="utf-8").splitlines()]
    rb = [json.loads(x) for x in b.read_text(encoding="utf-8").splitlines()]
    same, diffs, max_dc = 0, [], 0.0
    for x, y in zip(ra, rb, strict=True):
        keys = ("skill", "intent", "oos", "slots", "error")
        ok = all(x.get(k) == y.get(k) for k in keys)
        if "confidence" in x and "confidence" in y:
            dc = abs(x["confidence"] - y["confidence"])
            max_dc = max(max_dc, dc)
            ok = ok and dc <= CONF_TOL
        if ok:
            same += 1
        else:
            diffs.append({"i": x["i"], "x86": x, "aarch64": y})
    return {"n": len(ra), "identical": same, "different": len(diffs), "max_conf_diff": max_dc, "diffs": diffs[:50]}


def phase_emulate(state: dict, args: argparse.Namespace) -> None:
    rows_all = _test_rows()
    rows = _keep_known(rows_all, args.model)
    skipped = len(rows_all) - len(rows)
    texts = WORK / "emu_texts.jsonl"
    texts.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    rec = {"n_total": len(rows_all), "n_parsed": len(rows), "skipped_skill_not_in_model": skipped}
    rec["per_set"] = {s: sum(r["set"] == s for r in rows) for s in ("snips", "hwu64")}
    # x86 reference: the same wheel, the same model, the same texts
    p = _x86_worker(args, texts, WORK / "x86_meta.json", WORK / "x86_out.jsonl", "given")
    if p.returncode != 0:
        sys.exit(f"pi: x86 worker failed:\n{p.stderr[-3000:]}")
    # emulated: a timed subset first, then the whole set
    sub = min(args.subset, len(rows))
    t = _arm_worker(args, "cortex-a72", texts, WORK / "arm_sub_meta.json", WORK / "arm_sub_out.jsonl", "given", sub)
    m = json.loads((WORK / "arm_sub_meta.json").read_text())
    rec["subset"] = {"n": sub, "process_s": round(t, 1), "load_s": m["load_s"], "parse_s": m["parse_s"]}
    per = m["parse_s"] / max(sub, 1)
    rec["subset"]["emulated_s_per_parse"] = round(per, 3)
    _log(
        f"emulated subset: {sub} parses in {m['parse_s']:.1f} s ({per:.2f} s each; load {m['load_s']:.1f} s); "
        f"whole set estimated {per * len(rows) / 60:.1f} min"
    )
    t = _arm_worker(args, "cortex-a72", texts, WORK / "arm_meta.json", WORK / "arm_out.jsonl", "given")
    m = json.loads((WORK / "arm_meta.json").read_text())
    x = json.loads((WORK / "x86_meta.json").read_text())
    cmp_ = _compare(WORK / "x86_out.jsonl", WORK / "arm_out.jsonl")
    for d in cmp_["diffs"]:
        d["text"] = rows[d["i"]]["text"]
    rec.update(
        cpu="cortex-a72",
        process_s=round(t, 1),
        load_s=m["load_s"],
        parse_s=m["parse_s"],
        comparison=cmp_,
        aarch64={k: m[k] for k in ("machine", "python", "edge_nlu_file", "versions", "base_id", "skills")},
        x86={k: x[k] for k in ("machine", "python", "edge_nlu_file", "versions", "base_id", "skills")},
    )
    state["emulate"] = rec
    _log(f"emulated vs x86: {cmp_['identical']}/{cmp_['n']} identical, max |dconf| {cmp_['max_conf_diff']:.2e}")


PLUGIN_C = r"""
/* The recipe's insncount plugin (QEMU 7.2, plugin API v1) plus a marker: every getppid syscall (aarch64 nr 173)
   records the running instruction count; at exit writes the total then one mark a line to $INSNCOUNT_OUT. */
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
typedef uint64_t qemu_plugin_id_t; struct qemu_plugin_tb; struct qemu_info_t;
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t, void (*)(qemu_plugin_id_t, struct qemu_plugin_tb *));
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *);
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *, enum qemu_plugin_op, void *, uint64_t);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t, void (*)(qemu_plugin_id_t, void *), void *);
typedef void (*syscall_cb_t)(qemu_plugin_id_t, unsigned int, int64_t, uint64_t, uint64_t, uint64_t, uint64_t,
                             uint64_t, uint64_t, uint64_t, uint64_t);
void qemu_plugin_register_vcpu_syscall_cb(qemu_plugin_id_t, syscall_cb_t);
__attribute__((visibility("default"))) int qemu_plugin_version = 1;
static uint64_t n, marks[200000]; static size_t nm;
static void tb(qemu_plugin_id_t id, struct qemu_plugin_tb *t) {
  qemu_plugin_register_vcpu_tb_exec_inline(t, QEMU_PLUGIN_INLINE_ADD_U64, &n, qemu_plugin_tb_n_insns(t)); }
static void sc(qemu_plugin_id_t id, unsigned int v, int64_t num, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
               uint64_t a5, uint64_t a6, uint64_t a7, uint64_t a8) {
  if (num == 173 && nm < sizeof marks / sizeof *marks) marks[nm++] = n; }
static void fin(qemu_plugin_id_t id, void *p) {
  const char *f = getenv("INSNCOUNT_OUT"); FILE *o = f ? fopen(f, "w") : NULL;
  if (o) { fprintf(o, "%llu\n", (unsigned long long)n);
           for (size_t i = 0; i < nm; i++) fprintf(o, "%llu\n", (unsigned long long)marks[i]); fclose(o); } }
__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id, const struct qemu_info_t *i,
                                                               int c, char **v) {
  qemu_plugin_register_vcpu_tb_trans_cb(id, tb); qemu_plugin_register_vcpu_syscall_cb(id, sc);
  qemu_plugin_register_atexit_cb(id, fin, NULL); return 0; }
"""


def _count_rows(args: argparse.Namespace) -> list[dict]:
    """``--count-n`` utterances spread evenly over SNIPS test and HWU64 test (skills the model has)."""
    rows = _keep_known(_test_rows(), args.model)
    k = max(1, len(rows) // args.count_n)
    return rows[::k][: args.count_n]


def phase_insn(state: dict, args: argparse.Namespace) -> None:
    pdir = ARMEMU / "plugin"
    pdir.mkdir(parents=True, exist_ok=True)
    (pdir / "insnmarks.c").write_text(PLUGIN_C)
    so = pdir / "libinsnmarks.so"
    subprocess.run(["gcc", "-O2", "-shared", "-fPIC", "-o", str(so), str(pdir / "insnmarks.c")], check=True)
    rows = _count_rows(args)
    texts = WORK / "count_texts.jsonl"
    texts.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    modes = ["given", "routed"]
    rec = {"n": len(rows), "modes": modes, "per_cpu": {}}
    for cpu in args.cpus.split(","):
        res = {}
        counts = {}
        for n in (0, len(rows)):
            out = pdir / f"count.{cpu}.{n}"
            meta = WORK / f"count_meta.{cpu}.{n}.json"  # both runs: load + a warm-up pass over every utterance
            t = _arm_worker(args, cpu, texts, meta, None, ",".join(modes), n, so, out, warm=True)
            vals = [int(v) for v in out.read_text().split()]
            counts[n] = vals
            res[f"process_s_{n}"] = round(t, 1)
        total0, totaln, marks = counts[0][0], counts[len(rows)][0], counts[len(rows)][1:]
        assert len(marks) == 2 * len(rows) * len(modes), (len(marks), len(rows))
        per = {m: [] for m in modes}
        for j in range(0, len(marks), 2):
            per[modes[(j // 2) % len(modes)]].append(marks[j + 1] - marks[j])
        res["total_0"], res["total_n"] = total0, totaln
        res["per_parse_total_minus_load"] = round((totaln - total0) / (len(rows) * len(modes)))
        for m in modes:
            v = per[m]
            res[m] = {
                "median": round(statistics.median(v)),
                "mean": round(statistics.fmean(v)),
                "p99": round(_pct(v, 0.99)),
                "max": max(v),
                "min": min(v),
            }
        rec["per_cpu"][cpu] = res
        _log(
            f"{cpu}: given median {res['given']['median']:,} insns, routed median {res['routed']['median']:,}; "
            f"(total(N)-total(0))/N = {res['per_parse_total_minus_load']:,}"
        )
    state["insn"] = rec


def phase_x86(state: dict, args: argparse.Namespace) -> None:
    rows = _keep_known(_test_rows(), args.model)
    texts = WORK / "x86_time_texts.jsonl"
    texts.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    core = args.core
    p = _x86_worker(args, texts, WORK / "x86_time_meta.json", None, "given,routed", pin=core, warm=True)
    if p.returncode != 0:
        sys.exit(f"pi: x86 timing failed:\n{p.stderr[-3000:]}")
    m = json.loads((WORK / "x86_time_meta.json").read_text())
    rec = {"n": m["n"], "core": core, "cpu_model": _cpu_model(), "load_s": m["load_s"]}
    for mode in ("given", "routed"):
        v = m["cpu_ms"][mode]
        rec[mode] = {
            "cpu_mean_ms": round(statistics.fmean(v), 4),
            "cpu_p50_ms": round(_pct(v, 0.5), 4),
            "cpu_p99_ms": round(_pct(v, 0.99), 4),
            "p99_over_p50": round(_pct(v, 0.99) / _pct(v, 0.5), 3),
            "wall_p50_ms": round(_pct(m["wall_ms"][mode], 0.5), 4),
            "cold_pass_cpu_max_ms": round(max(m["cold_cpu_ms"][mode]), 2),
        }
    state["x86"] = rec
    _log(f"x86 one core: given p50 {rec['given']['cpu_p50_ms']} ms, routed p50 {rec['routed']['cpu_p50_ms']} ms")


def phase_memory(state: dict, args: argparse.Namespace) -> None:
    rows = [r for r in _test_rows() if r["set"] == "snips"]
    texts = WORK / "mem_texts.jsonl"
    texts.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    rec = {"cap": "prlimit --as=268435456 (256 MB address space)", "n": len(rows)}
    p = _x86_worker(args, texts, WORK / "mem_meta.json", WORK / "mem_out.jsonl", "given,routed", cap=MEM_CAP)
    rec["rc"] = p.returncode
    if p.returncode == 0:
        m = json.loads((WORK / "mem_meta.json").read_text())
        outs = [json.loads(x) for x in (WORK / "mem_out.jsonl").read_text().splitlines()]
        rec.update(
            parsed=sum("error" not in o for o in outs) // 2,
            errors=sum("error" in o for o in outs),
            peak_rss_mb=m["peak_rss_mb"],
            skills_loaded=m["skills"],
        )
        ref = WORK / "x86_out.jsonl"
        if ref.exists():  # the capped results agree with the uncapped x86 run (given mode, SNIPS rows)
            given = [o for o in outs if o["mode"] == "given"]
            refs = [json.loads(x) for x in ref.read_text().splitlines()][: len(given)]
            rec["same_as_uncapped"] = sum(
                all(a.get(k) == b.get(k) for k in ("skill", "intent", "slots", "confidence"))
                for a, b in zip(given, refs)
            )
    else:
        rec["stderr_tail"] = p.stderr[-1500:]
    state["memory"] = rec
    _log(f"capped run: rc {rec['rc']}, parsed {rec.get('parsed')}, peak RSS {rec.get('peak_rss_mb')} MB")


def _ms_range(insns: float, cpu: str) -> tuple[float, float]:
    a = PI[cpu]
    fast = insns / (a["ipc"][1] * a["ghz"][1] * 1e9) * 1e3
    slow = insns / (a["ipc"][0] * a["ghz"][0] * 1e9) * 1e3
    return round(fast, 2), round(slow, 2)


def phase_write(state: dict, args: argparse.Namespace) -> None:
    from benchmarks.report import run_meta

    est: dict = {}
    ins, x86 = state.get("insn", {}), state.get("x86", {})
    for cpu, res in ins.get("per_cpu", {}).items():
        for mode in ("given", "routed"):
            r = res[mode]
            ratio = x86.get(mode, {}).get("p99_over_p50")
            e = {
                "p50_ms": _ms_range(r["median"], cpu),
                "mean_ms": _ms_range(r["mean"], cpu),
                "p99_insn_ms": _ms_range(r["p99"], cpu),
            }
            if ratio:
                e["p99_from_x86_ratio_ms"] = _ms_range(r["mean"] * ratio, cpu)
            est.setdefault(cpu, {})[mode] = e
    factor = {}
    for mode in ("given", "routed"):
        if mode in x86:
            xm = x86[mode]
            factor[mode] = {
                "p50_ms": [round(xm["cpu_p50_ms"] * f, 2) for f in PI4_FACTOR],
                "p99_ms": [round(xm["cpu_p99_ms"] * f, 2) for f in PI4_FACTOR],
            }
    worst = None
    a72 = est.get("cortex-a72", {}).get("routed")
    if a72:
        worst = max(a72["p99_insn_ms"][1], a72.get("p99_from_x86_ratio_ms", (0, 0))[1])
    if factor.get("routed"):
        worst = max(worst or 0.0, factor["routed"]["p99_ms"][1])
    out = {
        "section": "pi",
        "title": "Raspberry-Pi-class profile (aarch64 under emulation, instruction counts, 256 MB cap)",
        **run_meta(module="benchmarks.pi"),
        "model": _model_arg(args) if args.model else "edge_nlu/models/default (embedded in the wheel)",
        "assumptions": {
            "pi": {k: {**v, "ghz": list(v["ghz"]), "ipc": list(v["ipc"])} for k, v in PI.items()},
            "pi4_per_core_factor_vs_x86": list(PI4_FACTOR),
            "ms": "instructions / (IPC x clock); fast end = high IPC and clock, slow end = low IPC and clock",
            "p99": "two ways: the p99 of per-parse instruction counts, and the mean count times the x86 p99/p50 ratio",
        },
        "setup": state.get("setup"),
        "wheel": state.get("wheel"),
        "emulated": state.get("emulate"),
        "insn": ins,
        "estimates_ms": est,
        "x86_one_core": x86,
        "x86_times_pi4_factor_ms": factor,
        "pi4_p99_worst_estimate_ms": worst,
        "goal": {"pi4_p99_ms": GOAL_P99_MS, "met": None if worst is None else worst <= GOAL_P99_MS},
        "memory": state.get("memory"),
    }
    out["table_markdown"] = table_markdown(out)
    out["notes"] = (
        "Emulated time is not Pi time; the Pi figures are estimates from aarch64 instruction counts (QEMU TCG plugin) "
        "under the stated IPC and clock ranges, and from x86 one-core CPU time times the Pi-4 per-core factor. "
        "See benchmarks/PI.md for the method and for running the same benchmark on a real Pi."
    )
    dest = Path(args.json) if args.json else OUT_JSON
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
    _log(f"wrote {dest}")
    print(out["table_markdown"])


def _r(t) -> str:
    return "—" if not t else f"{t[0]:.1f}–{t[1]:.1f}"


def table_markdown(o: dict) -> str:
    L = ["| what | result |", "|---|---|"]
    s, w, e, mem = o.get("setup") or {}, o.get("wheel") or {}, o.get("emulated") or {}, o.get("memory") or {}
    if s:
        L.append(
            f"| aarch64 set-up (recipe, {s.get('mode', '?')} mode, {s.get('host_cpus', '?')}-core host) | "
            f"{s.get('wall_s', '—')} s"
            + (
                f" (+ apt qemu-user for the plugin {s['qemu_user_install_s']} s)"
                if s.get("qemu_user_install_s")
                else ""
            )
            + " |"
        )
    if w:
        L.append(
            f"| wheel | `{w['wheel']}`, {w['bytes'] / 1e6:.1f} MB, "
            f"embedded model: {'yes' if w['embedded_model'] else 'no'}; "
            f"emulated offline `pip install` ({w.get('install')}) {w['emulated_pip_install_s']} s |"
        )
    if e:
        c = e["comparison"]
        L.append(
            f"| emulated aarch64 ({e['cpu']}) vs x86, same wheel and model: SNIPS test {e['per_set']['snips']} "
            f"(skill snips) + HWU64 test {e['per_set']['hwu64']} (row's skill) | "
            f"**{c['identical']}/{c['n']} identical**, "
            f"{c['different']} different (max confidence difference {c['max_conf_diff']:.1e})"
            + (
                f"; {e['skipped_skill_not_in_model']} rows skipped (skill not in model)"
                if e["skipped_skill_not_in_model"]
                else ""
            )
            + " |"
        )
        L.append(
            f"| emulated run time | {e['parse_s']:.0f} s for {c['n']} parses (subset of {e['subset']['n']}: "
            f"{e['subset']['emulated_s_per_parse']:.2f} s a parse); not Pi time |"
        )
    ins = (o.get("insn") or {}).get("per_cpu", {})
    for cpu, res in ins.items():
        board = PI[cpu]["board"]
        for mode in ("given", "routed"):
            r = res[mode]
            est = o["estimates_ms"][cpu][mode]
            L.append(
                f"| {board} ({cpu}), {mode}: aarch64 instructions per parse (median / p99 over {o['insn']['n']} "
                f"utterances) | {r['median'] / 1e6:.2f} M / {r['p99'] / 1e6:.2f} M → p50 **{_r(est['p50_ms'])} ms**, "
                f"p99 {_r(est['p99_insn_ms'])} ms "
                f"(x86 p99/p50 ratio on the mean: {_r(est.get('p99_from_x86_ratio_ms'))} ms) |"
            )
        L.append(
            f"| {board} ({cpu}): (total(N) − total(0)) / N, both modes | "
            f"{res['per_parse_total_minus_load'] / 1e6:.2f} M "
            f"instructions a parse |"
        )
    x86, fac = o.get("x86_one_core") or {}, o.get("x86_times_pi4_factor_ms") or {}
    for mode in ("given", "routed"):
        if mode in x86:
            xm = x86[mode]
            L.append(
                f"| x86 one core ({x86.get('cpu_model')}), {mode}: CPU p50 / p99 | {xm['cpu_p50_ms']:.3f} / "
                f"{xm['cpu_p99_ms']:.3f} ms → × {PI4_FACTOR[0]:.0f}–{PI4_FACTOR[1]:.0f} (Pi 4): p50 "
                f"{_r(fac[mode]['p50_ms'])} ms, p99 **{_r(fac[mode]['p99_ms'])} ms** |"
            )
    a72 = (o.get("estimates_ms") or {}).get("cortex-a72", {}).get("routed")
    if a72 or fac.get("routed"):
        ins_hi = max(a72["p99_insn_ms"][1], (a72.get("p99_from_x86_ratio_ms") or (0, 0))[1]) if a72 else None
        fac_hi = fac["routed"]["p99_ms"][1] if fac.get("routed") else None
        parts = []
        if ins_hi is not None:
            parts.append(f"instruction counts: ≤ {ins_hi:.1f} ms ({'met' if ins_hi <= GOAL_P99_MS else 'not met'})")
        if fac_hi is not None:
            parts.append(f"x86 × 25: {fac_hi:.1f} ms ({'met' if fac_hi <= GOAL_P99_MS else 'not met'})")
        L.append(
            f"| goal: p99 ≤ {GOAL_P99_MS:.0f} ms on a Pi 4, routed, slow end of each estimate | {'; '.join(parts)} |"
        )
    if mem:
        if mem.get("rc") == 0:
            L.append(
                f"| x86 under `prlimit --as=268435456` (256 MB address space): SNIPS test, given + routed | "
                f"{mem['parsed']}/{mem['n']} parsed, {mem['errors']} errors, peak RSS **{mem['peak_rss_mb']:.0f} MB** |"
            )
        else:
            L.append(f"| x86 under `prlimit --as=268435456` | failed (rc {mem['rc']}) |")
    return "\n".join(L)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.pi", description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", help="model folder (default: the embedded edge_nlu/models/default, from the wheel)")
    ap.add_argument("--skip-setup", action="store_true", help="assume the aarch64 userland is set up")
    ap.add_argument("--full-install", action="store_true", help="emulated pip installs the wheel's dependencies too")
    ap.add_argument("--phases", default=",".join(PHASES), help=f"comma-separated subset of {','.join(PHASES)}")
    ap.add_argument("--cpus", default=",".join(CPUS), help="CPU models for instruction counts")
    ap.add_argument("--count-n", type=int, default=60, help="utterances for instruction counts (default 60)")
    ap.add_argument("--subset", type=int, default=30, help="emulated parses timed before the whole set (default 30)")
    ap.add_argument("--core", type=int, default=1, help="x86 core to pin the timing run to (default 1)")
    ap.add_argument("--json", help=f"write here instead of {OUT_JSON} (--native: where to write its JSON)")
    ap.add_argument("--native", action="store_true", help="just time parses natively (for a real Pi)")
    ap.add_argument("--limit", type=int, help="--native: parse only the first N test utterances")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--texts", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    ap.add_argument("--meta", help=argparse.SUPPRESS)
    ap.add_argument("--modes", default="given", help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--warm-all", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return _worker(args)
    if args.native:
        return _native(args)
    if args.model is None and not (DEFAULT_MODEL / "base").is_dir():
        sys.exit(f"pi: the embedded default model is missing ({DEFAULT_MODEL}); pass --model DIR")
    WORK.mkdir(parents=True, exist_ok=True)
    state = _state_load()
    if state.get("model") != _model_arg(args):  # another model: forget the numbers and outputs of the last one
        state = {"model": _model_arg(args)}
        for f in [*WORK.glob("*.jsonl"), *WORK.glob("*meta*.json")]:
            f.unlink()
    funcs = {"setup": phase_setup, "wheel": phase_wheel, "emulate": phase_emulate, "insn": phase_insn}
    funcs.update({"x86": phase_x86, "memory": phase_memory, "write": phase_write})
    for ph in args.phases.split(","):
        t0 = time.perf_counter()
        funcs[ph](state, args)
        state.setdefault("phase_s", {})[ph] = round(time.perf_counter() - t0, 1)
        _state_save(state)
        _log(f"phase {ph} done in {time.perf_counter() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
