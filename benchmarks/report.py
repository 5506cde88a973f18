"""Regenerate ``benchmarks/RESULTS.md`` (and ``benchmarks/snips2017.png``) from the result JSONs: ``python -m
benchmarks.report``.

Nothing in RESULTS.md is written by hand: every measured number comes from ``benchmarks/results/*/*.json``, every
published number from the constants below (cited) or from the peers' published files of the Snips 2017 benchmark
(:func:`edge_nlu.metrics.published_snips2017`).

Plug-in sections: any ``benchmarks/results/<folder>/*.json`` holding a ``"table_markdown"`` key is copied under the
section named by its ``"section"`` key (default: the folder name), between ``<!-- section:NAME -->`` markers, with its
optional ``"title"``, ``"notes"`` and ``"command"``. Later benchmarks (latency, memory, reliability, Pi) plug in this
way without editing this file.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import re
import shlex
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS_DIR = HERE / "results"
PLUGIN_SECTIONS = ("latency", "reliability", "pi")  # memory: in the latency section (same run)
SYSTEM_ORDER = ("edge-nlu", "maxent-crf", "snips-nlu")

# Published anchors (test sets as distributed with the JointBERT reference implementation).
JOINTBERT = "JointBERT (Chen et al. 2019, BERT-base, published)"
PUBLISHED_ACCURACY = {
    "snips": [(JOINTBERT, {"intent_accuracy": 98.6, "slot_f1": 97.0, "exact_match": 92.8})],
    "atis": [(JOINTBERT, {"intent_accuracy": 97.5, "slot_f1": 96.1, "exact_match": 88.2})],
    "clinc150": [
        (
            "BERT (Larson et al. 2019, BERT-base, published)",
            {"in_scope_accuracy": 96.9, "oos_recall": "40–52 (depends on the OOS method)"},
        )
    ],
}
SET_TITLES = {
    "snips": "SNIPS (test 700, one skill, skill given)",
    "atis": "ATIS (test 893, one skill, skill given)",
    "hwu64": "HWU64 (test 1,076, 18 skills: skill given, and routed across the 18 skills)",
    "clinc150": "CLINC150 (test 5,500 incl. 1,000 out-of-scope, routed across 10 domain skills)",
}


# --- helpers used by the benchmark scripts ---------------------------------------------------------------------------


def pct(x: float | None) -> float | None:
    """A fraction as a percentage with 2 decimals (None, an undefined score, stays None)."""
    return None if x is None else round(100.0 * float(x), 2)


def _git(*args: str) -> str | None:
    try:
        r = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return r.stdout.strip() if r.returncode == 0 else None


def run_meta(argv: list[str] | None = None, module: str | None = None) -> dict:
    """git commit, command line, date and machine of a benchmark run."""
    args = list(sys.argv[1:] if argv is None else argv)
    if module is None:
        main = sys.modules.get("__main__")
        spec = getattr(main, "__spec__", None)
        module = spec.name if spec is not None and spec.name else Path(sys.argv[0]).stem
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": bool(status) if status is not None else None,
        "command": " ".join(["python", "-m", module, *map(shlex.quote, args)]),
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": {
            "host": platform.node(),
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        },
    }


# --- loading -------------------------------------------------------------------------------------------------------


def load_results(results_dir: Path) -> list[tuple[Path, dict]]:
    out = []
    for p in sorted(Path(results_dir).glob("*/*.json")):
        try:
            out.append((p, json.loads(p.read_text())))
        except (OSError, json.JSONDecodeError) as e:
            print(f"report: skipping unreadable {p}: {e}", file=sys.stderr)
    return out


def _sys_key(name: str) -> tuple[int, str]:
    return (SYSTEM_ORDER.index(name) if name in SYSTEM_ORDER else len(SYSTEM_ORDER), name)


def _fmt(v, nd: int = 2) -> str:
    if v is None:
        return "—"
    if isinstance(v, str):
        return v
    if isinstance(v, float) and math.isnan(v):
        return "—"
    return f"{v:.{nd}f}"


def _secs(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "—"
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}"


def _commands(recs: list[dict]) -> list[str]:
    seen = []
    for r in recs:
        c = r.get("command")
        if c and c not in seen:
            seen.append(c)
    return [f"- `{c}`" for c in seen]


def _provenance(recs: list[dict]) -> str:
    commits = sorted({(r.get("git_commit") or "?")[:10] + ("+dirty" if r.get("git_dirty") else "") for r in recs})
    dates = sorted(r.get("date", "?") for r in recs)
    hosts = sorted({f"{r.get('machine', {}).get('cpus', '?')} CPUs" for r in recs})
    when = dates[0] if dates[0] == dates[-1] else f"{dates[0]} … {dates[-1]}"
    return f"git {', '.join(commits)}; {when}; {', '.join(hosts)}"


# --- accuracy tables -----------------------------------------------------------------------------------------------


def accuracy_section(dataset: str, recs: list[dict]) -> list[str]:
    lines = [f"## {SET_TITLES.get(dataset, dataset)}", ""]
    recs = sorted(recs, key=lambda r: (r.get("mode") != "skill_given", _sys_key(r["system"])))
    anchors = PUBLISHED_ACCURACY.get(dataset, [])
    if dataset == "clinc150":
        head = [
            "system",
            "mode",
            "in-scope acc",
            "OOS recall",
            "OOS precision",
            "intent acc (151 classes)",
            "train s",
            "parse ms/utt",
            "n",
        ]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in recs:
            m = r["metrics"]
            lines.append(
                f"| {r['system']} | {r['mode']} | {_fmt(m.get('in_scope_accuracy'))} | {_fmt(m.get('oos_recall'))} "
                f"| {_fmt(m.get('oos_precision'))} | {_fmt(m.get('intent_accuracy'))} "
                f"| {_secs(r.get('train_seconds'))} "
                f"| {_fmt(r.get('parse_ms_per_utterance'))} | {r['n']} |"
            )
        for name, m in anchors:
            lines.append(
                f"| *{name}* | route | *{_fmt(m.get('in_scope_accuracy'), 1)}* | *{_fmt(m.get('oos_recall'), 1)}* "
                "| — | — | — | — | — |"
            )
    else:
        head = ["system", "mode", "intent acc", "slot F1", "exact match", "train s", "parse ms/utt", "n"]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for r in recs:
            m = r["metrics"]
            lines.append(
                f"| {r['system']} | {r['mode']} | {_fmt(m.get('intent_accuracy'))} | {_fmt(m.get('slot_f1'))} "
                f"| {_fmt(m.get('exact_match'))} | {_secs(r.get('train_seconds'))} "
                f"| {_fmt(r.get('parse_ms_per_utterance'))} | {r['n']} |"
            )
        for name, m in anchors:
            lines.append(
                f"| *{name}* | skill_given | *{_fmt(m.get('intent_accuracy'), 1)}* | *{_fmt(m.get('slot_f1'), 1)}* "
                f"| *{_fmt(m.get('exact_match'), 1)}* | — | — | — |"
            )
    lines.append("")
    if not recs:
        lines += ["No measurement yet.", ""]
    else:
        lines += [
            "Percent. Slot F1: micro, span-level (type and exact boundaries). Train s: wall seconds of training on "
            "the full train split (edge-nlu: the model build's total_seconds). Parse: batch, one process, 1 thread "
            "(snips-nlu: includes its subprocess start and engine load; not a latency figure).",
            "",
            f"Produced by ({_provenance(recs)}):",
            "",
            *_commands(recs),
            "",
        ]
    return lines


# --- Snips 2017 ------------------------------------------------------------------------------------------------------


def published_snips2017_means(data_root: Path | None) -> dict[str, dict[int, float]]:
    """{system: {size: mean score in percent}} from the published peer files (empty when the data is missing)."""
    from edge_nlu.metrics import SNIPS2017_SYSTEMS, published_snips2017

    if data_root is None:
        from edge_nlu.data import data_dir

        data_root = data_dir()
    out: dict[str, dict[int, float]] = {}
    for s in SNIPS2017_SYSTEMS:
        try:
            p = published_snips2017(data_root, s)
        except (OSError, KeyError, ValueError) as e:
            print(f"report: published Snips 2017 figures of {s} unavailable: {e}", file=sys.stderr)
            continue
        out[s] = {int(k): pct(v["mean"]) for k, v in p["by_size"].items() if k != "full"}
    return out


def snips2017_section(recs: list[dict], published: dict[str, dict[int, float]], png_name: str | None) -> list[str]:
    from edge_nlu.metrics import SNIPS2017_SIZES

    sizes = list(SNIPS2017_SIZES)
    for r in recs:
        sizes += [int(s) for s in r["by_size"] if int(s) not in sizes]
    sizes.sort()
    recs = sorted(recs, key=lambda r: _sys_key(r["system"]))
    lines = [
        "## Snips 2017 few-shot custom intents (slot F1, mean of 7 intents)",
        "",
        "Protocol of `../shared/data/README.md`: per intent, N utterances drawn from `train_full.jsonl` "
        "(`random.Random(seed).sample`, seeds 0/1/2), a one-intent model, the 100 validate utterances parsed; slot F1 "
        "(value match, case-insensitive) averaged over the draws, weighted by gold slot counts; percent.",
        "",
    ]
    head = ["system", *[f"N={s}" for s in sizes], "train s (all models)"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    means: dict[str, dict[int, float]] = {}
    for r in recs:
        mm = {int(k): v["mean"] for k, v in r["by_size"].items()}
        means[r["system"]] = mm
        label = r["system"] + ("" if r.get("complete", True) else " (partial run)")
        n_int = len(r.get("intents") or [])
        if 0 < n_int < 7:
            label += f" ({n_int} of 7 intents)"
        n_seeds = len(r.get("seeds") or [0, 1, 2])
        if n_seeds != 3:
            label += f" ({n_seeds} draw{'s' if n_seeds != 1 else ''})"
        cells = [_fmt(mm.get(s)) for s in sizes]
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {_secs(r.get('train_seconds_total'))} |")
    for name in [n for n in means if n.startswith("edge-nlu")]:
        if "maxent-crf" not in means:
            break
        e, m = means[name], means["maxent-crf"]
        cells = [f"{100 * (e[s] / m[s] - 1):+.1f}%" if s in e and s in m and m[s] else "—" for s in sizes]
        lines.append(f"| *relative gain {name} vs maxent-crf* | " + " | ".join(cells) + " | |")
    for name, mm in published.items():
        cells = [f"*{_fmt(mm.get(s))}*" if s in mm else "—" for s in sizes]
        lines.append(f"| *{name} (2017, published)* | " + " | ".join(cells) + " | — |")
    lines.append("")
    if published:
        lines += [
            "Published rows: computed by `edge_nlu.metrics.published_snips2017` from "
            "`../shared/data/snips2017/original/*/<system>_metrics.json` (the 2017 runs, their own validate counts as "
            "weights; Alexa reported N=70 only). *Snips (2017)* is the 2017 service, not the snips-nlu 0.20.2 peer.",
            "",
        ]
    bases = sorted(
        {
            f"`export/configs/{b.get('config')}.json` ({b.get('parameters', 0) / 1e6:.2f}M parameters, built in "
            f"{b.get('total_seconds')} s)"
            for r in recs
            if (b := (r.get("system_info") or {}).get("build"))
        }
    )
    if bases:
        ft = sorted(
            {
                json.dumps(c.get("finetune"), sort_keys=True)
                for r in recs
                if (c := (r.get("system_info") or {}).get("compiler"))
            }
        )
        how = (
            ", with its own copy of the encoder fine-tuned for its slots (`export/skill_encoder.py`: "
            + "; ".join(ft)
            + "; rank 0 ships the copy whole, rank r > 0 a rank-r delta of the base's weights)"
            if ft and ft != ["null"]
            else ""
        )
        lines += [
            "edge-nlu rows: a skill compiled per draw on the frozen base built from " + "; ".join(bases) + how + ".",
            "",
        ]
    minilm = ("minilm", "minilm-int8")
    inits = sorted({(r.get("system_info") or {}).get("init", "?") for r in recs if r["system"] in minilm})
    if inits:
        lines += [
            "minilm rows: the teacher itself on the same draws: MiniLM-L6 (22.7M parameters, fp32) fine-tuned per "
            "draw on the draw and the compiler's slot-value swaps (20 epochs, `benchmarks/minilm.py`), starting from "
            + "; ".join(f"`{i}`" for i in inits)
            + "; minilm-int8: the same fine-tunes parsed by their dynamic int8 ONNX exports.",
            "",
        ]
    if recs:
        lines += [f"Produced by ({_provenance(recs)}):", "", *_commands(recs), ""]
        if png_name:
            lines += [f"![Snips 2017 slot F1 vs training size]({png_name})", ""]
    else:
        lines += ["No measurement of ours yet.", ""]
    return lines


def plot_snips2017(recs: list[dict], published: dict[str, dict[int, float]], png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=110)
    for r in sorted(recs, key=lambda r: _sys_key(r["system"])):
        pts = sorted((int(k), v["mean"]) for k, v in r["by_size"].items())
        gaps = any(a < s < b for (a, _), (b, _) in zip(pts, pts[1:]) for s in (10, 20, 50, 70))
        label = r["system"] + (f" (N={', '.join(str(p[0]) for p in pts)} only)" if gaps else "")
        # sizes not measured in between: markers on a dotted line, so no value is implied where none was measured
        style = {"linestyle": ":", "linewidth": 1.2} if gaps else {"linewidth": 2.2}
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=label, **style)
    for name, mm in published.items():
        pts = sorted(mm.items())
        ax.plot(
            [p[0] for p in pts],
            [p[1] for p in pts],
            marker="s",
            linestyle="--",
            linewidth=1,
            alpha=0.7,
            label=f"{name} (2017, published)",
        )
    ax.set_xlabel("training utterances per intent (N)")
    ax.set_ylabel("slot F1 (%), mean of 7 intents")
    ax.set_title("Snips 2017 few-shot custom intents")
    ax.set_xticks(sorted({10, 20, 50, 70} | {int(k) for r in recs for k in r["by_size"]}))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png)
    plt.close(fig)


# --- plug-in sections ------------------------------------------------------------------------------------------------


def plugin_sections(results: list[tuple[Path, dict]]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for p, r in results:
        if isinstance(r, dict) and "table_markdown" in r:
            out.setdefault(str(r.get("section") or p.parent.name), []).append(r)
    return out


def plugin_lines(name: str, recs: list[dict]) -> list[str]:
    title = next((r["title"] for r in recs if r.get("title")), name.capitalize())
    lines = [f"<!-- section:{name} -->", f"## {title}", ""]
    if not recs:
        lines += [f"Not measured yet (a `benchmarks/results/{name}/*.json` with `table_markdown` fills this).", ""]
    for r in recs:
        lines += [str(r["table_markdown"]).rstrip(), ""]
        notes = r.get("notes")
        if isinstance(notes, list):  # bullet lines; the table may already carry them
            notes = "\n".join(f"- {n}" for n in notes if str(n) not in str(r["table_markdown"]))
        if notes:
            lines += [str(notes).rstrip(), ""]
        if r.get("command"):
            lines += [f"Produced by: `{r['command']}`", ""]
    lines += [f"<!-- /section:{name} -->", ""]
    return lines


# --- the report ----------------------------------------------------------------------------------------------------


def render(results_dir: Path, png: Path | None, data_root: Path | None = None, md_dir: Path | None = None) -> str:
    results = load_results(results_dir)
    acc: dict[str, list[dict]] = {}
    s17: list[dict] = []
    for _, r in results:
        if r.get("kind") == "accuracy":
            acc.setdefault(r["set"], []).append(r)
        elif r.get("kind") == "snips2017":
            s17.append(r)
    lines = [
        "# edge-nlu benchmark results",
        "",
        "Generated by `python -m benchmarks.report` from `benchmarks/results/*/*.json`: do not edit by hand (re-run "
        "the commands listed under each table, which rewrite their JSON and this file). Rows in *italics* are "
        "published figures, not measured here.",
        "",
    ]
    for ds in ("snips", "atis", "hwu64", "clinc150", *sorted(set(acc) - set(SET_TITLES))):
        lines += [
            f"<!-- section:accuracy-{ds} -->",
            *accuracy_section(ds, acc.get(ds, [])),
            f"<!-- /section:accuracy-{ds} -->",
            "",
        ]
    published = published_snips2017_means(data_root)
    png_name = None
    if png is not None and (s17 or published):
        plot_snips2017(s17, published, png)
        png_name = os.path.relpath(png, md_dir or results_dir.parent)
    lines += [
        "<!-- section:snips2017 -->",
        *snips2017_section(s17, published, png_name),
        "<!-- /section:snips2017 -->",
        "",
    ]
    plugins = plugin_sections(results)
    for name in (*PLUGIN_SECTIONS, *sorted(set(plugins) - set(PLUGIN_SECTIONS))):
        lines += plugin_lines(name, plugins.get(name, []))
    return "\n".join(lines).rstrip() + "\n"


README = HERE.parent / "README.md"
# The project's targets (issues #3, #4), shown beside the measured numbers. Each bar: (metric keys, thresholds),
# None where the issue asks only for a report; accuracy bars are minimums.
BARS: dict[tuple[str, str], tuple[tuple[str, ...], tuple[float | None, ...]]] = {
    ("snips", "skill_given"): (("intent_accuracy", "slot_f1", "exact_match"), (98.5, 94.5, 87.0)),
    ("atis", "skill_given"): (("intent_accuracy", "slot_f1", "exact_match"), (97.0, 95.0, 85.0)),
    ("hwu64", "skill_given"): (("intent_accuracy", "slot_f1", "exact_match"), (92.0, 78.0, None)),
    ("hwu64", "route"): (("intent_accuracy",), (90.0,)),
    ("clinc150", "route"): (("in_scope_accuracy", "oos_recall"), (94.0, 60.0)),
}
SNIPS2017_BARS = {10: 70.0, 70: 87.0}
LATENCY_BARS = (0.5, 1.5)  # ms p50 / p99, maxima
RSS_BAR_MB = 100.0  # maximum


def _met(values: list[float | None], bars: tuple[float | None, ...], higher: bool = True) -> str:
    """'yes' / 'no' per bar (``–`` where the issue sets none), so a missed bar reads off the table."""
    out = []
    for v, bar in zip(values, bars):
        if bar is None or v is None:
            out.append("–")
        else:
            out.append("yes" if (v >= bar if higher else v <= bar) else "no")
    return " / ".join(out)


def _bar_text(bars: tuple[float | None, ...], dset: str, mode: str) -> str:
    if dset == "clinc150":
        return f"in-scope ≥ {bars[0]:.1f}, OOS recall ≥ {bars[1]:g}"
    if mode == "route":
        return f"intent ≥ {bars[0]:.1f}"
    return "≥ " + " / ".join("–" if b is None else f"{b:.1f}" for b in bars)


def readme_summary(results_dir: Path) -> str:
    """The headline table the README shows: edge-nlu beside the baselines and its own teacher, from the same result
    JSONs, with each target and whether edge-nlu meets it."""
    acc: dict[tuple[str, str, str], dict] = {}
    s17: dict[str, dict] = {}
    for _, d in load_results(results_dir):
        if d.get("kind") == "snips2017":
            s17[d["system"]] = d
        elif "metrics" in d and "set" in d:
            acc[(d["set"], d.get("mode", "skill_given"), d["system"])] = d
    systems = ["edge-nlu", "maxent-crf", "snips-nlu", "teacher-fp32"]
    s17_names = {"teacher-fp32": "minilm"}  # the teacher's few-shot runs: fine-tuned per draw
    lines = [
        "| test set | metric | edge-nlu | maxent-crf | snips-nlu | MiniLM teacher (fp32) | target | met |",
        "|---|---|" + "---|" * len(systems) + "---|---|",
    ]
    for (dset, mode), (keys, bars) in BARS.items():
        row = [acc.get((dset, mode, sy)) for sy in systems]
        if not any(row):
            continue
        if dset == "clinc150":
            metric = "in-scope acc / OOS recall"
        elif mode == "route":
            metric = "intent acc (routed)"
        else:
            metric = "intent / slot F1 / exact"
        cells = [" / ".join(_fmt(r["metrics"].get(k)) for k in keys) if r else "–" for r in row]
        met = _met([row[0]["metrics"].get(k) for k in keys], bars) if row[0] else "–"
        label = {"skill_given": "skill given", "route": "routed"}.get(mode, mode)
        lines.append(
            f"| {dset} ({label}) | {metric} | " + " | ".join(cells) + f" | {_bar_text(bars, dset, mode)} | {met} |"
        )
    if s17:
        cells, means = [], {}
        for sy in systems:
            d = s17.get(s17_names.get(sy, sy))
            vals = [d["by_size"][str(n)].get("mean") if d and str(n) in d["by_size"] else None for n in SNIPS2017_BARS]
            means[sy] = vals
            cells.append(" / ".join(_fmt(v) if v is not None else "–" for v in vals) if d else "–")
        met = _met(means["edge-nlu"], tuple(SNIPS2017_BARS.values()))
        target = " / ".join(f"≥ {b:g}" for b in SNIPS2017_BARS.values())
        lines.append("| Snips-2017 few-shot | slot F1 @10 / @70 | " + " | ".join(cells) + f" | {target} | {met} |")
    lat = results_dir / "latency" / "latency.json"
    if lat.exists():
        d = json.loads(lat.read_text())
        by = {r["key"]: r for r in d.get("rows", []) if "key" in r}
        cpu = {k: r["cpu"] for k, r in by.items() if "cpu" in r}
        edge = cpu.get("edge-given")
        if edge:
            ms = []
            for k in ("edge-given", "maxent", "snips-peer-cpu", "teacher-given"):
                ms.append(f"{cpu[k]['p50']:.2f} / {cpu[k]['p99']:.2f}" if k in cpu else "–")
            met = _met([edge["p50"], edge["p99"]], LATENCY_BARS, higher=False)
            lines.append(
                "| latency, SNIPS test, skill given | CPU ms p50 / p99, 1 core (teacher: int8) | "
                + " | ".join(ms)
                + f" | ≤ {LATENCY_BARS[0]:g} / ≤ {LATENCY_BARS[1]:g} | {met} |"
            )
        fp = d.get("footprint", {})
        rss = next((v for k, v in fp.items() if k.startswith("peak RSS, all")), None)
        if rss:
            others = [
                next((v for k, v in fp.items() if k.startswith(name)), "–")
                for name in ("MaxEnt-CRF", "Snips NLU", "int8 teacher")
            ]
            mb = re.match(r"\s*([0-9.]+) MB", rss)
            met = _met([float(mb.group(1)) if mb else None], (RSS_BAR_MB,), higher=False)
            lines.append(
                f"| memory | peak RSS, all 29 skills resident (teacher: int8) | {rss.split(' (')[0]} | "
                + " | ".join(o.split(" (")[0] for o in others)
                + f" | ≤ {RSS_BAR_MB:g} MB | {met} |"
            )
    lines.append("")
    lines.append(
        "Percent unless stated; measured by the commands in benchmarks/RESULTS.md, which has every table. Teacher: the"
        " pretrained MiniLM-L6 (22.7M parameters) fine-tuned on the same training data (on Snips-2017: per draw, on"
        " the draw's utterances); the students learn from it. met: whether edge-nlu meets each target."
    )
    return "\n".join(lines)


def update_readme(results_dir: Path, readme: Path = README) -> None:
    """Replace the block between ``<!-- results -->`` and ``<!-- /results -->`` in the README."""
    if not readme.exists():
        return
    text = readme.read_text()
    start, end = "<!-- results -->", "<!-- /results -->"
    if start not in text:
        return
    block = start + "\n" + readme_summary(results_dir) + "\n" + end
    if end in text:
        a, b = text.index(start), text.index(end) + len(end)
        text = text[:a] + block + text[b:]
    else:
        text = text.replace(start, block, 1)
    readme.write_text(text)


def regenerate(
    results_dir: Path = RESULTS_DIR, out: Path | None = None, png: Path | None = None, data_root: Path | None = None
) -> Path:
    """Write RESULTS.md (default: beside ``results_dir``) and the Snips 2017 plot; returns the markdown path."""
    results_dir = Path(results_dir).resolve()
    out = Path(out) if out else results_dir.parent / "RESULTS.md"
    png = Path(png) if png else results_dir.parent / "snips2017.png"
    out.write_text(render(results_dir, png.resolve(), data_root, out.resolve().parent))
    if results_dir == RESULTS_DIR.resolve():
        update_readme(results_dir)
    print(f"report: wrote {out}", file=sys.stderr)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--results", default=str(RESULTS_DIR))
    ap.add_argument("--out", help="markdown path (default: RESULTS.md beside the results folder)")
    ap.add_argument("--png", help="plot path (default: snips2017.png beside the results folder)")
    args = ap.parse_args(argv)
    regenerate(Path(args.results), Path(args.out) if args.out else None, Path(args.png) if args.png else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
