"""Parse latency, cold start and memory of the device runtime, side by side with the baselines.

    python -m benchmarks.latency [--model DIR] [--teacher-onnx runs/teacher-onnx/teacher_int8.onnx --teacher DIR]
                                 [--n 700] [--skill snips]

Every measurement runs in its own child process pinned to one core (``taskset -c CORE``, onnxruntime and BLAS on one
thread), after a warm-up on the SNIPS dev utterances (steady state; first-use costs are the cold-start rows). The
figures are per parse, the whole path text -> result:

- edge-nlu: ``NLU.parse(text, skill="snips")`` (skill given) and ``NLU.parse(text)`` (routed over every enabled
  skill of the model), SNIPS test utterances, one at a time; also ``parse_batch`` (32 a call) per utterance.
- MaxEnt-CRF (benchmarks/maxent_crf.py) trained on SNIPS train (cached under ~/.cache/edge-nlu-bench/).
- the int8 teacher (benchmarks.teacher.TeacherRuntime) when ``--teacher-onnx`` and ``--teacher`` exist.
- Snips NLU 0.20.2 through its peer (``peer.py parse`` in its own virtualenv, engine trained once on SNIPS train and
  cached): round trip of one line through stdin/stdout (includes the pipe), and the peer process's own CPU time per
  parse, read from ``/proc/PID/task/*/schedstat`` around each round trip (the peer is blocked on stdin then).

CPU time (``time.thread_time_ns`` around each parse; the busy machine makes wall time noisy) is the primary figure;
wall time is reported too. Also: cold start (fresh process: import edge_nlu + load + first parse, median of 5), peak
RSS with all skills resident, and the RSS floor of ``import numpy, tokenizers, onnxruntime``.

Writes ``benchmarks/results/latency/latency.json`` (``section`` "latency", ``table_markdown``, raw numbers) and
``benchmarks/latency.png`` (histogram); ``--json``/``--png`` write elsewhere.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._measure import (
    CACHE,
    ROOT,
    add_output_args,
    child_env,
    file_sha,
    load_texts,
    parse_args,
    pin_cmd,
    proc_status,
    publish,
    run_meta,
    run_worker,
    serve_worker,
    summarize,
)

log = logging.getLogger("benchmarks.latency")

HERE = Path(__file__).resolve().parent
OUT_JSON = HERE / "results" / "latency" / "latency.json"
OUT_PNG = HERE / "latency.png"


def timed(fn, items, label: str, every: int = 200) -> dict:
    """Run ``fn`` on each item; per-call thread CPU, process CPU and wall time (ns); logs progress with rates."""
    cpu, proc, wall, out = [], [], [], []
    t_start = time.perf_counter()
    for i, x in enumerate(items, 1):
        p0, c0, w0 = time.process_time_ns(), time.thread_time_ns(), time.perf_counter_ns()
        r = fn(x)
        w1, c1, p1 = time.perf_counter_ns(), time.thread_time_ns(), time.process_time_ns()
        cpu.append(c1 - c0)
        proc.append(p1 - p0)
        wall.append(w1 - w0)
        out.append(r)
        if i % every == 0 or i == len(items):
            el = time.perf_counter() - t_start
            log.info(
                "%s: %d/%d parses (%.0f parses/s wall, cpu p50 so far %.2f ms)",
                label,
                i,
                len(items),
                i / el,
                statistics.median(cpu) / 1e6,
            )
    return {"cpu_ns": cpu, "process_cpu_ns": proc, "wall_ns": wall, "results": out}


def dir_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())


# --- workers (each runs pinned in a fresh process) ----------------------------------------------------------------


def _strip(t: dict) -> dict:
    return {k: v for k, v in t.items() if k != "results"}


def warmup_texts(a) -> list[str]:
    """The warm-up utterances: SNIPS dev (disjoint from the measured test utterances), so every system is timed in
    its steady state (per-word caches filled with common words, catalog resolvers built) without having seen the
    measured texts; first-use costs are what the cold-start rows measure."""
    return load_texts("snips", "dev", a.warmup)[0]


def worker_edge(a) -> dict:
    import edge_nlu

    texts, gold = load_texts("snips", "test", a.n)
    home = tempfile.mkdtemp(prefix="edge-nlu-latency-home-")
    try:
        t0 = time.perf_counter()
        nlu = edge_nlu.load(a.model, home=home, threads=1)
        load_s = time.perf_counter() - t0
        nlu.max_resident = max(nlu.max_resident, len(nlu.skills) + 1)  # routing touches every enabled skill
        if a.skill not in nlu.skills:
            raise SystemExit(f"skill {a.skill!r} not in model {a.model} (has {', '.join(nlu.skills)})")
        log.info("edge-nlu: %d skills (%d enabled), loaded in %.2f s", len(nlu.skills), len(nlu.enabled_skills), load_s)
        for t in warmup_texts(a):
            nlu.parse(t, skill=a.skill)
            nlu.parse(t)
        given = timed(lambda t: nlu.parse(t, skill=a.skill), texts, "edge-nlu skill given")
        routed = timed(lambda t: nlu.parse(t), texts, "edge-nlu routed")
        # batched: 32 utterances a call, per-utterance CPU
        bs, batch_cpu, batch_wall = 32, 0, 0
        for i in range(0, len(texts), bs):
            c0, w0 = time.thread_time_ns(), time.perf_counter_ns()
            nlu.parse_batch(texts[i : i + bs], skill=a.skill)
            batch_cpu += time.thread_time_ns() - c0
            batch_wall += time.perf_counter_ns() - w0
        acc_g = sum(r.intent == u.intent for r, u in zip(given["results"], gold, strict=True)) / len(gold)
        acc_r = sum(r.intent == u.intent and r.skill == u.skill for r, u in zip(routed["results"], gold, strict=True))
        return {
            "skills": len(nlu.skills),
            "enabled": len(nlu.enabled_skills),
            "load_s": round(load_s, 3),
            "given": _strip(given),
            "routed": _strip(routed),
            "batch32_per_utt_cpu_ms": round(batch_cpu / len(texts) / 1e6, 4),
            "batch32_per_utt_wall_ms": round(batch_wall / len(texts) / 1e6, 4),
            "intent_acc_given": round(acc_g, 4),
            "intent_acc_routed": round(acc_r / len(gold), 4),
            "status": proc_status(),
        }
    finally:
        shutil.rmtree(home, ignore_errors=True)


def maxent_model(train: Path):
    from benchmarks.maxent_crf import MaxEntCRF

    path = CACHE / f"maxent-crf-snips-{file_sha(train)}.pkl"
    if path.exists():
        log.info("MaxEnt-CRF: cached model %s", path)
        return MaxEntCRF.load(path), None
    from edge_nlu.definitions.jsonl import definitions_from_jsonl

    log.info("MaxEnt-CRF: training on %s (a few minutes; cached afterwards at %s)", train, path)
    t0 = time.perf_counter()
    defs = definitions_from_jsonl(train)
    m = MaxEntCRF().fit(defs["snips"])
    CACHE.mkdir(parents=True, exist_ok=True)
    m.save(str(path) + ".tmp")
    os.replace(str(path) + ".tmp", path)
    return m, time.perf_counter() - t0


def worker_maxent(a) -> dict:
    from edge_nlu.data import split_path

    m, train_s = maxent_model(split_path("snips", "train"))
    texts, gold = load_texts("snips", "test", a.n)
    for t in warmup_texts(a):
        m.parse(t)
    given = timed(m.parse, texts, "MaxEnt-CRF")
    acc = sum(r.intent == u.intent for r, u in zip(given["results"], gold, strict=True)) / len(gold)
    return {"given": _strip(given), "train_s": train_s, "intent_acc_given": round(acc, 4), "status": proc_status()}


def worker_teacher(a) -> dict:
    from benchmarks.teacher import TeacherRuntime
    from edge_nlu.data import data_dir
    from edge_nlu.definitions.jsonl import read_jsonl

    labels = json.loads((Path(a.teacher) / "labels.json").read_text())
    rt = TeacherRuntime(Path(a.teacher_onnx), labels)
    slots: dict[str, set] = {}
    for name in ("snips", "hwu64", "clinc150"):
        p = data_dir() / name / "train.jsonl"
        if p.exists():
            for u in read_jsonl(p):
                if u.skill:
                    slots.setdefault(u.skill, set()).update(s.slot for s in u.slots)
    rt.skill_slots = slots
    skills = sorted({k.split(":", 1)[0] for k in rt.intents if ":" in k})
    for s in skills:
        slots.setdefault(s, set())
    texts, gold = load_texts("snips", "test", a.n)
    for t in warmup_texts(a):
        rt.parse(t, a.skill, skills)
        rt.parse(t, None, skills)
    given = timed(lambda t: rt.parse(t, a.skill, skills), texts, "teacher int8 skill given")
    routed = timed(lambda t: rt.parse(t, None, skills), texts, "teacher int8 routed")
    acc = sum(r.intent == u.intent for r, u in zip(given["results"], gold, strict=True)) / len(gold)
    return {
        "given": _strip(given),
        "routed": _strip(routed),
        "skills": len(skills),
        "intent_acc_given": round(acc, 4),
        "onnx_bytes": Path(a.teacher_onnx).stat().st_size,
        "status": proc_status(),
    }


def _peer_cpu_ns(pid: int) -> int:
    total = 0
    for p in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((p / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total


def worker_snips(a) -> dict:
    peer = Path(a.peer)
    engine = Path(a.engine)
    texts, gold = load_texts("snips", "test", a.n)
    env = {k: v for k, v in child_env().items() if k != "PYTHONPATH"}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [str(peer / "bin" / "python"), str(peer / "peer.py"), "parse", str(engine)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        bufsize=1,
        env=env,
    )
    try:

        def rt(text: str) -> dict:
            proc.stdin.write(text.replace("\n", " ") + "\n")
            proc.stdin.flush()
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError("snips-nlu peer closed its output")
            return json.loads(line)

        rt(texts[0])
        first_s = time.perf_counter() - t0
        for t in warmup_texts(a):
            rt(t)
        peer_cpu, results = [], []

        def one(t: str) -> dict:
            c0 = _peer_cpu_ns(proc.pid)
            r = rt(t)
            peer_cpu.append(_peer_cpu_ns(proc.pid) - c0)
            return r

        trip = timed(one, texts, "snips-nlu round trip")
        results = trip["results"]
        acc = sum(r.get("intent") == u.intent for r, u in zip(results, gold, strict=True)) / len(gold)
        peer_status = proc_status(proc.pid)
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
    return {
        "round_trip": _strip(trip),
        "peer_cpu_ns": peer_cpu,
        "load_and_first_parse_s": round(first_s, 3),
        "intent_acc_given": round(acc, 4),
        "peer_status": peer_status,
    }


COLD = r"""
import json, sys, time
t0 = time.perf_counter()
import edge_nlu
t1 = time.perf_counter()
nlu = edge_nlu.load(sys.argv[1], home=sys.argv[2], threads=1)
t2 = time.perf_counter()
r = nlu.parse("play the latest album by the beatles on spotify", skill=sys.argv[3] if sys.argv[3] else None)
t3 = time.perf_counter()
print(json.dumps({"import_ms": 1e3 * (t1 - t0), "load_ms": 1e3 * (t2 - t1), "first_parse_ms": 1e3 * (t3 - t2),
                  "in_process_ms": 1e3 * (t3 - t0), "intent": r.intent}))
"""


def cold_start(model: str, core: int, runs: int, skill: str | None) -> dict:
    """Fresh process per run: import + load + first parse (in-process) and spawn-to-exit wall time."""
    out = []
    home = tempfile.mkdtemp(prefix="edge-nlu-cold-home-")
    # bytecode cached (outside the checkout) as an installed package has it; run 0 fills the cache
    env = {k: v for k, v in child_env().items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(CACHE / "pycache")
    try:
        for i in range(runs + 1):  # run 0 warms the page cache and is not counted
            t0 = time.perf_counter()
            r = subprocess.run(
                [*pin_cmd(core), sys.executable, "-c", COLD, model, home, skill or ""],
                env=env,
                cwd=str(ROOT),
                capture_output=True,
                text=True,
                timeout=300,
            )
            wall = 1e3 * (time.perf_counter() - t0)
            if r.returncode != 0:
                return {"error": r.stderr.strip()[-800:]}
            d = json.loads(r.stdout.strip().splitlines()[-1])
            d["process_wall_ms"] = wall
            if i:
                out.append(d)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    keys = ("import_ms", "load_ms", "first_parse_ms", "in_process_ms", "process_wall_ms")
    return {"runs": out, "median": {k: round(statistics.median(d[k] for d in out), 1) for k in keys}}


def worker_rss(a) -> dict:
    """Peak RSS: load the model with every skill resident, parse one utterance per skill, then the SNIPS test set."""
    marks = {"start": proc_status()}
    import edge_nlu

    _ = edge_nlu.NLU  # imports the runtime (onnxruntime, tokenizers, numpy)

    marks["imported"] = proc_status()
    texts, _ = load_texts("snips", "test", a.n)
    home = tempfile.mkdtemp(prefix="edge-nlu-rss-home-")
    try:
        nlu = edge_nlu.load(a.model, home=home, threads=1, max_resident=10_000)
        marks["loaded"] = proc_status()
        for s in nlu.skills:
            nlu.parse(texts[0], skill=s)
        marks["all_skills_resident"] = proc_status()
        for t in texts:
            nlu.parse(t, skill=a.skill)
            nlu.parse(t)
        marks["after_test_set"] = proc_status()
        return {
            "marks": marks,
            "skills": len(nlu.skills),
            "resident": len(nlu._cache),
            "skill_bytes": sum(sk.nbytes() for sk in nlu._cache.values()),
        }
    finally:
        shutil.rmtree(home, ignore_errors=True)


def worker_floor(a) -> dict:
    import numpy  # noqa: F401
    import onnxruntime  # noqa: F401
    import tokenizers  # noqa: F401

    return {"status": proc_status()}


WORKERS = {
    "edge": worker_edge,
    "maxent": worker_maxent,
    "teacher": worker_teacher,
    "snips": worker_snips,
    "rss": worker_rss,
    "floor": worker_floor,
}


# --- the Snips NLU engine (trained once, cached) ---------------------------------------------------------------------


def snips_engine(peer: Path, train: Path) -> tuple[Path, float | None]:
    folder = CACHE / f"snips-nlu-{file_sha(train)}"
    engine = folder / "engine"
    if engine.is_dir():
        return engine, None
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / "engine.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    log.info("snips-nlu: training an engine on %s (~5 min; cached afterwards at %s)", train, engine)
    t0 = time.perf_counter()
    r = subprocess.run(
        [str(peer / "bin" / "python"), str(peer / "peer.py"), "train", str(train), str(tmp)],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if r.returncode != 0:
        raise RuntimeError(f"snips-nlu peer train failed: {r.stderr.strip()[-800:]}")
    os.replace(tmp, engine)
    return engine, time.perf_counter() - t0


# --- report ---------------------------------------------------------------------------------------------------------


def _ms(x) -> str:
    return "–" if x is None else f"{x:.2f}" if x < 100 else f"{x:.0f}"


def build_tables(res: dict) -> str:
    rows = res["rows"]
    edge = next((r for r in rows if r["key"] == "edge-given"), None)
    head = [
        "| system | mode | CPU p50 | CPU p90 | CPU p99 | CPU mean | wall p50 | wall p99 | wall mean | "
        "× edge-nlu (CPU p50 / mean) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        c, w = r.get("cpu") or {}, r.get("wall") or {}
        ratio = "1"
        if edge and r["key"] == "snips-roundtrip" and w:  # its CPU column is the client's: compare wall times
            ratio = f"wall {w['p50'] / edge['wall']['p50']:.1f} / {w['mean'] / edge['wall']['mean']:.1f}"
        elif edge and r["key"] != "edge-given" and c:
            ratio = f"{c['p50'] / edge['cpu']['p50']:.1f} / {c['mean'] / edge['cpu']['mean']:.1f}"
        head.append(
            f"| {r['system']} | {r['mode']} | {_ms(c.get('p50'))} | {_ms(c.get('p90'))} | {_ms(c.get('p99'))} "
            f"| {_ms(c.get('mean'))} | {_ms(w.get('p50'))} | {_ms(w.get('p99'))} | {_ms(w.get('mean'))} | "
            f"{ratio} |"
        )
    m = res["meta"]
    out = [
        f"Per-parse latency in ms, SNIPS test (n={m['n']}), text → result, one pinned core "
        f"({m['machine'].get('cpu_model', '?')}, {m['machine'].get('isa', '?')}, "
        f"a shared {m['machine'].get('cpus', '?')}-CPU VM), "
        "onnxruntime/BLAS 1 thread, after "
        f"{m['warmup']} warm-up parses of SNIPS dev utterances. CPU = thread CPU time per parse (primary: the "
        "machine is busy); "
        "ratios are baseline / edge-nlu with the skill given.",
        "",
        *head,
    ]
    for note in res.get("notes", []):
        out.append(f"- {note}")
    f = res.get("footprint", {})
    if f:
        out += ["", "| footprint | value |", "|---|---|"]
        for k, v in f.items():
            out.append(f"| {k} | {v} |")
    return "\n".join(out)


def plot(res: dict, path: Path, raw: dict) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy as np
    except ImportError:
        log.warning("matplotlib missing: no histogram")
        return
    fig, ax = plt.subplots(figsize=(9, 4.8))
    allv = [v for vs in raw.values() for v in vs if v > 0]
    if not allv:
        return
    bins = np.logspace(np.log10(min(allv)) - 0.05, np.log10(max(allv)) + 0.05, 80)
    for label, vs in raw.items():
        ax.hist(vs, bins=bins, histtype="step", linewidth=1.5, label=f"{label} (p50 {statistics.median(vs):.2f} ms)")
    ax.set_xscale("log")
    ax.set_xlabel("CPU time per parse, ms (log scale)")
    ax.set_ylabel("utterances")
    ax.set_title(f"Parse latency, SNIPS test (n={res['meta']['n']}), one pinned core")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="model folder (default: the embedded edge_nlu/models/default)")
    ap.add_argument("--skill", default="snips", help="the skill the SNIPS utterances belong to")
    ap.add_argument("--teacher-onnx", default="runs/teacher-onnx/teacher_int8.onnx")
    ap.add_argument("--teacher", default=None, help="teacher folder (labels.json)")
    ap.add_argument("--peer", default=os.environ.get("SNIPS_NLU_PEER") or str(Path.home() / ".cache/snips-nlu-peer"))
    ap.add_argument("--n", type=int, default=700, help="test utterances (SNIPS test has 700)")
    ap.add_argument("--warmup", type=int, default=700, help="warm-up parses (SNIPS dev utterances)")
    ap.add_argument("--core", type=int, default=1, help="core to pin measurement processes to")
    ap.add_argument("--cold-runs", type=int, default=5)
    ap.add_argument("--skip", default="", help="comma list of: maxent,teacher,snips,cold,rss")
    add_output_args(ap, OUT_JSON, OUT_PNG)
    ap.add_argument("--engine", help=argparse.SUPPRESS)
    a = parse_args(ap, argv)
    if a.worker:
        return serve_worker(a, WORKERS)

    if not (Path(a.model) / "base").is_dir():
        log.error("model folder %s has no base/ (the embedded default is not built yet?): pass --model DIR", a.model)
        return 2
    skip = set(filter(None, a.skip.split(",")))
    t_all = time.perf_counter()
    common = ["--model", a.model, "--skill", a.skill, "--n", str(a.n), "--warmup", str(a.warmup)]
    res: dict = {"section": "latency", "rows": [], "notes": [], "raw": {}}
    hist: dict[str, list[float]] = {}

    def add(key, system, mode, timing, intent_acc=None):
        """A row from a worker's per-parse ``timing`` (``cpu_ns`` and ``wall_ns`` lists)."""
        cpu_ns, wall_ns = timing["cpu_ns"], timing["wall_ns"]
        acc = {} if intent_acc is None else {"intent_acc": intent_acc}
        res["rows"].append(
            {"key": key, "system": system, "mode": mode, "cpu": summarize(cpu_ns), "wall": summarize(wall_ns), **acc}
        )
        res["raw"][key] = {"cpu_ns": cpu_ns, "wall_ns": wall_ns}
        hist[f"{system} {mode}"] = [x / 1e6 for x in cpu_ns]

    e = run_worker("benchmarks.latency", "edge", common, a.core)
    if "error" in e:
        log.error("%s", e["error"])
        return 1
    add("edge-given", "edge-nlu", "skill given", e["given"], e["intent_acc_given"])
    add("edge-routed", "edge-nlu", f"routed over {e['enabled']} skills", e["routed"], e["intent_acc_routed"])
    res["edge"] = {k: v for k, v in e.items() if k not in ("given", "routed")}
    res["edge"]["process_cpu_equals_thread_cpu"] = round(
        sum(e["given"]["process_cpu_ns"]) / max(1, sum(e["given"]["cpu_ns"])), 3
    )
    res["notes"].append(
        f"edge-nlu parse_batch (32 a call, skill given): {e['batch32_per_utt_cpu_ms']:.3f} ms CPU per utterance."
    )

    if "maxent" not in skip:
        m = run_worker("benchmarks.latency", "maxent", common, a.core)
        if "error" in m:
            res["notes"].append(f"MaxEnt-CRF skipped: {m['error']}")
        else:
            add("maxent", "MaxEnt-CRF", "skill given", m["given"], m["intent_acc_given"])
            res["maxent"] = {k: v for k, v in m.items() if k != "given"}

    teacher_onnx = Path(a.teacher_onnx)
    if "teacher" not in skip:
        if not a.teacher or not (Path(a.teacher) / "labels.json").exists() or not teacher_onnx.exists():
            res["notes"].append(
                f"int8 teacher skipped: needs --teacher-onnx (given: {teacher_onnx}, exists: "
                f"{teacher_onnx.exists()}) and --teacher DIR with labels.json (given: {a.teacher})."
            )
        else:
            t = run_worker(
                "benchmarks.latency",
                "teacher",
                [*common, "--teacher", str(Path(a.teacher).resolve()), "--teacher-onnx", str(teacher_onnx.resolve())],
                a.core,
            )
            if "error" in t:
                res["notes"].append(f"int8 teacher skipped: {t['error']}")
            else:
                add("teacher-given", "MiniLM-L6 teacher int8", "skill given", t["given"], t["intent_acc_given"])
                add("teacher-routed", "MiniLM-L6 teacher int8", f"routed over {t['skills']} skills", t["routed"])
                res["teacher"] = {k: v for k, v in t.items() if k not in ("given", "routed")}

    if "snips" not in skip:
        peer = Path(a.peer)
        if not (peer / "bin" / "python").exists() or not (peer / "peer.py").exists():
            res["notes"].append(
                f"Snips NLU skipped: peer not installed at {peer} (../shared/peers/snips-nlu/install.sh)."
            )
        else:
            try:
                from edge_nlu.data import split_path

                engine, train_s = snips_engine(peer, split_path("snips", "train"))
                s = run_worker(
                    "benchmarks.latency", "snips", [*common, "--peer", str(peer), "--engine", str(engine)], a.core
                )
                if "error" in s:
                    raise RuntimeError(s["error"])
                peer_cpu = {"cpu_ns": s["peer_cpu_ns"], "wall_ns": s["round_trip"]["wall_ns"]}
                add(
                    "snips-peer-cpu",
                    "Snips NLU 0.20.2",
                    "own CPU per parse (peer process)",
                    peer_cpu,
                    s["intent_acc_given"],
                )
                add("snips-roundtrip", "Snips NLU 0.20.2", "round trip incl. pipe (client CPU / wall)", s["round_trip"])
                res["snips"] = {k: v for k, v in s.items() if k not in ("round_trip", "peer_cpu_ns")}
                res["snips"]["engine"] = str(engine)
                res["snips"]["train_s"] = train_s
                res["notes"].append(
                    "Snips NLU: one engine = the SNIPS skill (its 7 intents), so skill given = routed. Its CPU row is "
                    "the peer process's own on-CPU time per parse (/proc/PID/task/*/schedstat around each round trip; "
                    "its wall columns are the round trip). The round-trip row's wall time includes the pipe and JSON; "
                    "its CPU column is only the client's pipe/JSON work."
                )
            except (RuntimeError, OSError, subprocess.SubprocessError) as ex:
                res["notes"].append(f"Snips NLU skipped: {ex}")

    footprint = {}
    if "cold" not in skip:
        log.info("cold start: %d fresh processes (+1 page-cache warm-up)", a.cold_runs)
        cs = cold_start(a.model, a.core, a.cold_runs, None)
        cg = cold_start(a.model, a.core, a.cold_runs, a.skill)
        res["cold_start"] = {"routed": cs, "skill_given": cg}
        if "median" in cs:
            md = cs["median"]
            footprint["cold start, routed first parse (median of 5; warm page cache, bytecode cached)"] = (
                f"{md['in_process_ms']:.0f} ms in process (import {md['import_ms']:.0f} + load {md['load_ms']:.0f} + "
                f"first parse {md['first_parse_ms']:.0f}); {md['process_wall_ms']:.0f} ms spawn to exit"
            )
        if "median" in cg:
            md = cg["median"]
            footprint["cold start, skill given"] = (
                f"{md['in_process_ms']:.0f} ms in process (first parse {md['first_parse_ms']:.0f}); "
                f"{md['process_wall_ms']:.0f} ms spawn to exit"
            )
    if "rss" not in skip:
        r = run_worker("benchmarks.latency", "rss", common, a.core)
        f = run_worker("benchmarks.latency", "floor", common, a.core)
        res["rss"], res["rss_floor"] = r, f
        if "marks" in r:
            mk = r["marks"]
            footprint[f"peak RSS, all {r['skills']} skills resident + SNIPS test parsed"] = (
                f"{mk['after_test_set']['VmHWM'] / 2**20:.1f} MB (after import {mk['imported']['VmRSS'] / 2**20:.1f}, "
                f"after load {mk['loaded']['VmRSS'] / 2**20:.1f}, all skills resident "
                f"{mk['all_skills_resident']['VmRSS'] / 2**20:.1f})"
            )
        if "status" in f:
            footprint["RSS floor: import numpy, tokenizers, onnxruntime"] = f"{f['status']['VmRSS'] / 2**20:.1f} MB"
    footprint["model on disk (base + skills)"] = f"{dir_bytes(Path(a.model)) / 1e6:.2f} MB"
    if res.get("maxent", {}).get("status"):
        footprint["MaxEnt-CRF peak RSS (process)"] = f"{res['maxent']['status']['VmHWM'] / 2**20:.1f} MB"
    if res.get("teacher", {}).get("status"):
        footprint["int8 teacher peak RSS (process)"] = f"{res['teacher']['status']['VmHWM'] / 2**20:.1f} MB"
    if res.get("snips", {}).get("peer_status"):
        footprint["Snips NLU peak RSS (peer process)"] = f"{res['snips']['peer_status']['VmHWM'] / 2**20:.1f} MB"
    res["footprint"] = footprint

    res["meta"] = run_meta(
        "benchmarks.latency", argv, a.model, t_all, n=len(e["given"]["cpu_ns"]), warmup=a.warmup, core=a.core
    )
    res["table_markdown"] = build_tables(res)
    plot(res, Path(a.png), hist)
    publish(res, a, t_all, log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
