"""Many skills on one base: disk, install time, parse latency and memory as the number of installed skills grows.

    python -m benchmarks.scale [--model DIR] [--skills 1000] [--cap 32] [--skill snips] [--nocap-max 200]

Makes N distinct copies of one skill of the model (the zip re-written with another name in labels.json and the
manifest, sums recomputed, so each is a valid skill of its own), then, each step in a fresh process pinned to one
core (onnxruntime 1 thread):

1. install: ``NLU.install_skill`` of the N copies into an empty temporary user store, one by one (wall and CPU time
   per install; it fsyncs, so wall is what a user waits), the store's bytes on disk, and parse latency with the skill
   given at N = 1, 10, 100, ... installed (for the plot);
2. latency 1 vs N: two NLU instances in one process, one over a store with 1 copy and one over the store with N,
   parsing SNIPS test utterances with the skill given, alternating blocks of 50 so drift hits both alike;
3. RSS with an LRU cap of ``--cap`` resident skills: parse once with each of the N skills round-robin (every parse
   loads a skill and evicts one; ``--rss-passes``), sampling VmRSS every ``--every`` parses;
4. the same with no cap, up to ``--nocap-max`` skills.

Bars: 1,000 skills ≤ 512 MB on disk; install ≤ 50 ms (p99 wall); parse latency with the skill given within 10% of
the 1-skill case (mean and p50 CPU); RSS with cap 32 ≤ 150 MB (peak). Writes ``benchmarks/results/scale/scale.json``
(``section`` "scale", ``table_markdown``) and ``benchmarks/scale.png``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._measure import (
    CACHE,
    add_output_args,
    file_sha,
    load_texts,
    parse_args,
    proc_status,
    publish,
    rss_mb,
    run_meta,
    run_worker,
    serve_worker,
    summarize,
)

log = logging.getLogger("benchmarks.scale")

HERE = Path(__file__).resolve().parent
OUT_JSON = HERE / "results" / "scale" / "scale.json"
OUT_PNG = HERE / "scale.png"
BAR_DISK_1000 = 512 * 2**20
BAR_INSTALL_MS = 50.0
BAR_LATENCY = 1.10
BAR_RSS_CAP = 150 * 2**20


def copy_name(src: str, i: int) -> str:
    return f"{src[:50]}-copy{i:05d}"


def make_copies(model: Path, skill: str, n: int, out: Path) -> list[Path]:
    """N distinct, valid copies of ``skill``: new name in labels.json and the manifest, sha256 sums recomputed."""
    from edge_nlu.runtime.artifacts import read_skill, verify_base, write_skill

    base = verify_base(model / "base", check_sums=False)
    src = model / "skills" / f"{skill}.skill"
    manifest, members = read_skill(src, base)
    labels = json.loads(members["labels.json"])
    meta = {k: v for k, v in manifest.items() if k not in ("format", "format_version", "files")}
    out.mkdir(parents=True, exist_ok=True)
    paths, t0 = [], time.perf_counter()
    for i in range(n):
        name = copy_name(skill, i)
        p = out / f"{name}.skill"
        paths.append(p)
        if p.exists():
            continue
        mem = dict(members)
        mem["labels.json"] = json.dumps({**labels, "name": name, "invocation_name": None}).encode()
        tmp = out / f".{name}.tmp"
        write_skill(tmp, mem, {**meta, "name": name, "invocation_name": None})
        os.replace(tmp, p)  # an interrupted run leaves no half-written copy behind
        if (i + 1) % 100 == 0 or i + 1 == n:
            log.info("copies: %d/%d (%.0f/s)", i + 1, n, (i + 1) / (time.perf_counter() - t0))
    return paths


def _store_bytes(folder: Path) -> dict:
    files = [p for p in folder.iterdir() if p.is_file()]
    skills = [p for p in files if p.suffix == ".skill"]
    return {
        "skills": len(skills),
        "skill_bytes": sum(p.stat().st_size for p in skills),
        "all_bytes": sum(p.stat().st_size for p in files),
        "allocated_bytes": sum(p.stat().st_blocks * 512 for p in files),
    }


def _parse_cpu(nlu, texts: list[str], skill: str) -> list[int]:
    out = []
    for t in texts:
        c0 = time.thread_time_ns()
        nlu.parse(t, skill=skill)
        out.append(time.thread_time_ns() - c0)
    return out


# --- workers ------------------------------------------------------------------------------------------------------


def worker_install(a) -> dict:
    import edge_nlu

    copies = [Path(a.copies) / f"{copy_name(a.skill, i)}.skill" for i in range(a.skills)]
    texts, _ = load_texts("snips", "test", 200)
    home1, home_n = Path(a.work) / "home1", Path(a.work) / "homeN"
    for h in (home1, home_n):
        shutil.rmtree(h, ignore_errors=True)
    nlu1 = edge_nlu.load(a.model, home=home1, threads=1)
    nlu1.install_skill(copies[0])
    nlu = edge_nlu.load(a.model, home=home_n, threads=1, max_resident=a.cap)
    first = copy_name(a.skill, 0)
    checkpoints = {1, a.skills} | {10**k for k in range(1, 7) if 10**k < a.skills}
    wall, cpu, curve = [], [], []
    t_start = time.perf_counter()
    for i, p in enumerate(copies, 1):
        w0, c0 = time.perf_counter_ns(), time.thread_time_ns()
        nlu.install_skill(p)
        cpu.append(time.thread_time_ns() - c0)
        wall.append(time.perf_counter_ns() - w0)
        if i in checkpoints:
            for t in texts[:30]:
                nlu.parse(t, skill=first)
            lat = _parse_cpu(nlu, texts, first)
            curve.append({"installed": i, "cpu": summarize(lat)})
            log.info("%d installed: parse CPU p50 %.3f ms (skill given)", i, curve[-1]["cpu"]["p50"])
        if i % 100 == 0 or i == len(copies):
            el = time.perf_counter() - t_start
            log.info(
                "install: %d/%d (%.0f installs/s, last-100 median %.1f ms wall)",
                i,
                len(copies),
                i / el,
                statistics.median(wall[-100:]) / 1e6,
            )
    folder = nlu.user.folder
    t0 = time.perf_counter()
    edge_nlu.load(a.model, home=home_n, threads=1, max_resident=a.cap)
    load_n_s = time.perf_counter() - t0
    return {
        "install_wall_ns": wall,
        "install_cpu_ns": cpu,
        "latency_curve": curve,
        "disk": _store_bytes(folder),
        "disk_one": _store_bytes(nlu1.user.folder),
        "load_with_n_s": round(load_n_s, 3),
        "user_folder": str(folder),
        "n_installed": len(nlu.skills) - len(nlu.builtin.names()),
    }


def worker_latency(a) -> dict:
    import edge_nlu

    texts, _ = load_texts("snips", "test", a.n)
    first = copy_name(a.skill, 0)
    nlu1 = edge_nlu.load(a.model, home=Path(a.work) / "home1", threads=1)
    nlu_n = edge_nlu.load(a.model, home=Path(a.work) / "homeN", threads=1, max_resident=a.cap)
    for t in texts[:50]:
        nlu1.parse(t, skill=first)
        nlu_n.parse(t, skill=first)
    one, many = [], []
    for rep in range(a.reps):
        for i in range(0, len(texts), 50):
            block = texts[i : i + 50]
            pair = ((nlu1, one), (nlu_n, many)) if (i // 50 + rep) % 2 == 0 else ((nlu_n, many), (nlu1, one))
            for nlu, out in pair:
                out.extend(_parse_cpu(nlu, block, first))
        log.info(
            "latency 1 vs %d: pass %d/%d, p50 %.3f vs %.3f ms",
            len(nlu_n.skills),
            rep + 1,
            a.reps,
            statistics.median(one) / 1e6,
            statistics.median(many) / 1e6,
        )
    return {"one": one, "many": many, "installed_many": len(nlu_n.skills), "installed_one": len(nlu1.skills)}


def worker_rss(a) -> dict:
    """Round-robin parses over the installed skills with a cap (``--cap``; 0 = no cap, up to ``--nocap-max``)."""
    import edge_nlu

    marks = {"start": proc_status()}
    texts, _ = load_texts("snips", "test", None)
    cap = a.cap if a.cap > 0 else 10**9
    nlu = edge_nlu.load(a.model, home=Path(a.work) / "homeN", threads=1, max_resident=cap)
    names = [n for n in nlu.skills if n not in nlu.builtin.names()]
    if a.cap <= 0:
        names = names[: a.nocap_max]
    nlu.parse(texts[0], skill=names[0])
    marks["loaded"] = proc_status()
    passes = a.rss_passes if a.cap > 0 else 1
    samples, cpu, wall = [], [], []
    t_start, k = time.perf_counter(), 0
    for p in range(passes):
        for i, name in enumerate(names):
            t = texts[k % len(texts)]
            w0, c0 = time.perf_counter_ns(), time.thread_time_ns()
            nlu.parse(t, skill=name)
            cpu.append(time.thread_time_ns() - c0)
            wall.append(time.perf_counter_ns() - w0)
            k += 1
            if k % a.every == 0 or i + 1 == len(names):
                st = proc_status()
                samples.append(
                    {
                        "parses": k,
                        "skills_touched": min(k, len(names)),
                        "pass": p,
                        "resident": len(nlu._cache),
                        "rss": st.get("VmRSS"),
                        "hwm": st.get("VmHWM"),
                    }
                )
            if k % 250 == 0:
                log.info(
                    "rss cap=%s: %d/%d parses (%.0f/s), RSS %.1f MB, %d resident",
                    a.cap or "none",
                    k,
                    passes * len(names),
                    k / (time.perf_counter() - t_start),
                    rss_mb(),
                    len(nlu._cache),
                )
    marks["end"] = proc_status()
    return {"cap": a.cap, "skills": len(names), "samples": samples, "cpu_ns": cpu, "wall_ns": wall, "marks": marks}


WORKERS = {"install": worker_install, "latency": worker_latency, "rss": worker_rss}


# --- report ---------------------------------------------------------------------------------------------------------


def _mb(b: float) -> str:
    return f"{b / 2**20:.1f} MB"


def plot(res: dict, path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log.warning("matplotlib missing: no plot")
        return
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.5))
    ax = axes[0]
    for key, label in (("rss_cap", f"LRU cap {res['meta']['cap']}"), ("rss_nocap", "no cap")):
        r = res.get(key) or {}
        s = [x for x in r.get("samples", []) if x["pass"] == 0]
        if s:
            ax.plot([x["skills_touched"] for x in s], [x["rss"] / 2**20 for x in s], label=label)
    ax.axhline(BAR_RSS_CAP / 2**20, color="grey", ls="--", lw=1, label="bar 150 MB (cap)")
    ax.set_xlabel("skills used (round-robin, one parse each)")
    ax.set_ylabel("RSS, MB")
    ax.set_title("Memory vs skills used")
    ax.legend(fontsize=8)
    ax = axes[1]
    inst = res.get("install_raw_ms") or []
    ax.plot(range(1, len(inst) + 1), inst, ".", ms=2)
    ax.axhline(BAR_INSTALL_MS, color="grey", ls="--", lw=1, label="bar 50 ms")
    ax.set_xlabel("skills installed")
    ax.set_ylabel("install wall time, ms")
    ax.set_yscale("log")
    ax.set_title("install_skill time vs skills installed")
    ax.legend(fontsize=8)
    ax = axes[2]
    curve = res.get("latency_curve") or []
    if curve:
        xs = [c["installed"] for c in curve]
        ax.plot(xs, [c["cpu"]["p50"] for c in curve], "o-", label="p50")
        ax.plot(xs, [c["cpu"]["mean"] for c in curve], "s-", label="mean")
        ax.set_xscale("log")
    ax.set_ylim(bottom=0)
    ax.set_xlabel("skills installed")
    ax.set_ylabel("parse CPU, ms (skill given)")
    ax.set_title("Parse latency vs skills installed")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="model folder (default: the embedded edge_nlu/models/default)")
    ap.add_argument("--skills", type=int, default=1000, help="number of installed skills N")
    ap.add_argument("--cap", type=int, default=32, help="LRU cap of resident skills")
    ap.add_argument("--skill", default="snips", help="the model's skill to copy")
    ap.add_argument("--nocap-max", type=int, default=200, help="skills to load with no cap (memory grows)")
    ap.add_argument("--every", type=int, default=25, help="sample RSS every k parses")
    ap.add_argument("--rss-passes", type=int, default=1, help="round-robin passes over the N skills with the cap")
    ap.add_argument("--n", type=int, default=700, help="test utterances for the 1 vs N latency")
    ap.add_argument("--reps", type=int, default=2, help="passes over them")
    ap.add_argument("--core", type=int, default=1)
    ap.add_argument("--work", default=None, help="work folder (default: a temporary one, removed afterwards)")
    add_output_args(ap, OUT_JSON, OUT_PNG)
    ap.add_argument("--note", help="a line printed under the table in RESULTS (what the copied skill is)")
    ap.add_argument("--copies", help=argparse.SUPPRESS)
    a = parse_args(ap, argv)
    if a.worker:
        return serve_worker(a, WORKERS)

    model = Path(a.model)
    if not (model / "skills" / f"{a.skill}.skill").exists():
        log.error(
            "%s has no skills/%s.skill (the embedded default is not built yet?): pass --model DIR", model, a.skill
        )
        return 2
    t_all = time.perf_counter()
    work = Path(a.work) if a.work else Path(tempfile.mkdtemp(prefix="edge-nlu-scale-"))
    keep = a.work is not None
    try:
        # copies are cached between runs (keyed by the source skill's bytes): writing one takes ~0.1 s here
        src_sha = file_sha(model / "skills" / f"{a.skill}.skill")
        copies = CACHE / f"scale-copies-{a.skill}-{src_sha}"
        make_copies(model, a.skill, a.skills, copies)
        common = [
            "--model",
            a.model,
            "--skills",
            str(a.skills),
            "--skill",
            a.skill,
            "--work",
            str(work),
            "--copies",
            str(copies),
            "--every",
            str(a.every),
            "--n",
            str(a.n),
            "--reps",
            str(a.reps),
            "--nocap-max",
            str(a.nocap_max),
            "--rss-passes",
            str(a.rss_passes),
        ]
        inst = run_worker("benchmarks.scale", "install", [*common, "--cap", str(a.cap)], a.core)
        if "error" in inst:
            log.error("%s", inst["error"])
            return 1
        lat = run_worker("benchmarks.scale", "latency", [*common, "--cap", str(a.cap)], a.core)
        rss_cap = run_worker("benchmarks.scale", "rss", [*common, "--cap", str(a.cap)], a.core)
        rss_nocap = run_worker("benchmarks.scale", "rss", [*common, "--cap", "0"], a.core)
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)

    n = a.skills
    disk = inst["disk"]
    per_skill = disk["all_bytes"] / max(1, disk["skills"])
    disk_1000 = per_skill * 1000
    iw = summarize(inst["install_wall_ns"])
    ic = summarize(inst["install_cpu_ns"])
    res: dict = {
        "section": "scale",
        **({"notes": a.note} if a.note else {}),
        "install": {"wall": iw, "cpu": ic},
        "disk": disk,
        "disk_one": inst["disk_one"],
        "load_with_n_s": inst["load_with_n_s"],
        "latency_curve": inst["latency_curve"],
        "install_raw_ms": [round(x / 1e6, 3) for x in inst["install_wall_ns"]],
    }
    bars = []
    bars.append(
        (
            "1,000 skills on disk ≤ 512 MB",
            f"{_mb(disk_1000)} (measured {n}: {_mb(disk['all_bytes'])}, {per_skill / 1024:.1f} KB a skill)",
            disk_1000 <= BAR_DISK_1000,
        )
    )
    bars.append(
        (
            "install ≤ 50 ms (p99 wall)",
            f"median {iw['p50']:.1f} ms, p99 {iw['p99']:.1f} ms wall (CPU median {ic['p50']:.1f}, p99 {ic['p99']:.1f})",
            iw["p99"] <= BAR_INSTALL_MS,
        )
    )
    if "error" not in lat:
        one, many = summarize(lat["one"]), summarize(lat["many"])
        r50, rmean = many["p50"] / one["p50"], many["mean"] / one["mean"]
        res["latency_1_vs_n"] = {"one": one, "many": many, "ratio_p50": round(r50, 4), "ratio_mean": round(rmean, 4)}
        bars.append(
            (
                f"parse latency, skill given, {n} vs 1 installed ≤ +10%",
                f"CPU p50 {one['p50']:.3f} → {many['p50']:.3f} ms (×{r50:.3f}), mean {one['mean']:.3f} → "
                f"{many['mean']:.3f} ms (×{rmean:.3f})",
                max(r50, rmean) <= BAR_LATENCY,
            )
        )
    else:
        res["latency_1_vs_n"] = lat
    for key, r in (("rss_cap", rss_cap), ("rss_nocap", rss_nocap)):
        if "error" in r:
            res[key] = r
            continue
        res[key] = {k: v for k, v in r.items() if k not in ("cpu_ns", "wall_ns")}
        res[key]["parse_cpu"] = summarize(r["cpu_ns"])
        res[key]["parse_wall"] = summarize(r["wall_ns"])
        res[key]["peak_rss"] = max(s["rss"] for s in r["samples"])
        res[key]["hwm"] = r["marks"]["end"].get("VmHWM")
    if "error" not in rss_cap:
        rc = res["rss_cap"]
        bars.append(
            (
                f"RSS with cap {a.cap} ≤ 150 MB",
                f"peak {_mb(rc['hwm'])} over {rc['skills']} skills × {a.rss_passes} pass(es) "
                f"(after load {_mb(rc['marks']['loaded']['VmRSS'])}); a parse that loads its skill: CPU p50 "
                f"{rc['parse_cpu']['p50']:.2f} ms, p99 {rc['parse_cpu']['p99']:.2f} ms",
                rc["hwm"] <= BAR_RSS_CAP,
            )
        )
    if "error" not in rss_nocap:
        rn = res["rss_nocap"]
        s = rn["samples"]
        slope = (s[-1]["rss"] - s[0]["rss"]) / max(1, s[-1]["skills_touched"] - s[0]["skills_touched"])
        rn["rss_per_resident_skill_bytes"] = round(slope)
        bars.append(
            (
                "RSS with no cap (for comparison)",
                f"{_mb(rn['marks']['loaded']['VmRSS'])} → "
                f"{_mb(s[-1]['rss'])} with {rn['skills']} skills resident (~{slope / 1024:.0f} KB a skill)",
                None,
            )
        )
    res["bars"] = [{"bar": b, "measured": m, "pass": p} for b, m, p in bars]
    rows = [
        f"Skills installed into a user store over one base (copies of `{a.skill}`, {per_skill / 1024:.1f} KB "
        f"each), one pinned core, onnxruntime 1 thread. Loading the model with {n} installed skills: "
        f"{inst['load_with_n_s'] * 1000:.0f} ms.",
        "",
        "| bar | measured | result |",
        "|---|---|---|",
    ]
    for b, m, p in bars:
        rows.append(f"| {b} | {m} | {'–' if p is None else 'pass' if p else 'FAIL'} |")
    if inst["latency_curve"]:
        rows += ["", "| skills installed | parse CPU p50 (ms, skill given) | mean |", "|---|---|---|"]
        for c in inst["latency_curve"]:
            rows.append(f"| {c['installed']} | {c['cpu']['p50']:.3f} | {c['cpu']['mean']:.3f} |")
    res["table_markdown"] = "\n".join(rows)
    res["meta"] = run_meta("benchmarks.scale", argv, a.model, t_all, skills=n, cap=a.cap, skill=a.skill, core=a.core)
    plot(res, Path(a.png))
    publish(res, a, t_all, log)
    return 0


if __name__ == "__main__":
    sys.exit(main())
