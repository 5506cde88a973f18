"""What a compiled skill's compact heads change: ``python -m benchmarks.compact_heads [--skills alarm,...]``.

Since 2026-12-03 (rule 36) ``build-skill`` stores a skill's hashed lexical slot table int8 with a scale per tag
(was float16) and its intent and slot matrices float16 (were float32). The training is the same; only the stored
encoding differs. Per skill (HWU64 train rows, compiled on the embedded base with the compiler's defaults), this
compiles the skill once in the earlier encoding (``export.skill_compiler.COMPACT = False``), repacks that file's
weights into the compact encoding (bit-identical to compiling with ``COMPACT = True``: the same float weights go
through the same ``pack_weights``), then parses the skill's dev and test rows with both files through the runtime
(skill given) and reports how many parses differ (intent or any slot span), the scores, and the file sizes.
Writes ``benchmarks/results/compact_heads/compact_heads.json``.

``--shipped`` measures the same for a whole model's skills as they are (default: the embedded model): a copy of
the model repacked by ``python -m export.repack``, and SNIPS (skill given), HWU64 (given and routed) and CLINC150
(routed) dev and test parsed by both copies; writes ``benchmarks/results/compact_heads/shipped.json``.
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

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks.design import DEFAULT_MODEL, parse_eval, skill_rows
from benchmarks.report import RESULTS_DIR, run_meta

log = logging.getLogger("benchmarks.compact_heads")

SKILLS = "alarm,calendar,iot,play,email"  # the design table's HWU64 skills
SPLITS = ("dev", "test")
DEFAULT_OUT = str(RESULTS_DIR / "compact_heads" / "compact_heads.json")


def repack(src: Path, dst: Path, base_manifest: dict) -> None:
    """``dst``: the skill ``src`` (earlier encoding) with its weights in the compact encoding."""
    from export.repack import repack_skill

    shutil.copyfile(src, dst)
    repack_skill(dst, base_manifest)


def parses(nlu, name: str, rows) -> list:
    """Per row: (intent, [(slot, start, end), ...]): what must not change."""
    out = []
    for u in rows:
        r = nlu.parse(u.text, skill=name)
        out.append((r.intent, [(s.slot, s.start, s.end) for s in r.slots]))
    return out


def measure(model: Path, skill: str, work: Path) -> dict:
    import edge_nlu.runtime.nlu as nlu_mod
    import export.skill_compiler as sc
    from edge_nlu.definitions.jsonl import definition_from_utterances
    from edge_nlu.runtime.base import Base

    wide, compact = work / f"{skill}.wide.skill", work / f"{skill}.compact.skill"
    t0 = time.perf_counter()
    sc.COMPACT = False
    try:
        sc.compile_skill(definition_from_utterances(skill, skill_rows(skill, "train")), model, wide)
    finally:
        sc.COMPACT = True
    secs = time.perf_counter() - t0
    repack(wide, compact, Base(model / "base").manifest)
    rec: dict = {"compile_seconds": round(secs, 1), "bytes": {}, "splits": {}}
    got: dict[str, dict[str, list]] = {}
    for kind, path in (("wide", wide), ("compact", compact)):
        rec["bytes"][kind] = path.stat().st_size
        with tempfile.TemporaryDirectory() as home:
            nlu = nlu_mod.load(model, home=home)
            name = nlu.install_skill(path, name=f"{skill}_{kind}")
            for split in SPLITS:
                rows = skill_rows(skill, split)
                scores = parse_eval(nlu, name, rows)
                got.setdefault(split, {})[kind] = parses(nlu, name, rows)
                rec["splits"].setdefault(split, {})[kind] = {
                    k: scores[k] for k in ("n", "intent_accuracy", "slot_f1", "exact_match")
                }
    for split in SPLITS:
        a, b = got[split]["wide"], got[split]["compact"]
        rec["splits"][split]["differ"] = sum(x != y for x, y in zip(a, b, strict=True))
    log.info("%s: %s", skill, rec)
    return rec


SHIPPED_RUNS = (("snips", False), ("hwu64", False), ("hwu64", True), ("clinc150", True))
SHIPPED_KEYS = ("intent_accuracy", "slot_f1", "exact_match", "in_scope_accuracy", "oos_recall")


def _key(u) -> tuple:
    """What must not change in a parse: intent (None when out of scope), skill, slot spans."""
    return (u.intent, u.skill, sorted((s.slot, s.start, s.end) for s in u.slots))


def measure_shipped(model: Path, work: Path, recalibrate: bool = False) -> dict:
    """Repack a copy of ``model`` (and redo its calibration stage on dev, as a build does after writing its skills,
    if ``recalibrate``) and parse the shipped sets' dev and test splits with both copies."""
    from benchmarks.accuracy import ROUTED
    from benchmarks.report import pct
    from benchmarks.systems import EdgeNLUSystem
    from edge_nlu.data import split_path
    from edge_nlu.definitions.jsonl import read_jsonl
    from edge_nlu.metrics import evaluate
    from export.repack import main as repack_main

    copy = work / "repacked"
    shutil.copytree(model, copy)
    t0 = time.perf_counter()
    repack_main([str(copy)])
    secs = time.perf_counter() - t0
    cal = None
    if recalibrate:
        from export.build import recalibrate as redo

        cal = redo(json.loads((copy / "build_report.json").read_text())["config"], copy)
        shutil.rmtree(copy / "_work", ignore_errors=True)
    copies = (("wide", model), ("compact", copy))
    per = {k: {p.stem: p.stat().st_size for p in (m / "skills").glob("*.skill")} for k, m in copies}
    size = {k: sum(v.values()) for k, v in per.items()}
    runs: list[dict] = []
    for dataset, route in SHIPPED_RUNS:
        train = read_jsonl(split_path(dataset, "train"))
        systems = {}
        for kind, m in copies:
            systems[kind] = EdgeNLUSystem(m)
            systems[kind].fit(train)
        for split in SPLITS:
            gold = read_jsonl(split_path(dataset, split))
            routed = route or dataset in ROUTED
            skills = [None if routed else u.skill for u in gold]
            preds = {k: s.parse([u.text for u in gold], skills) for k, s in systems.items()}
            scores = {}
            for k, pred in preds.items():
                r = evaluate(gold, pred)
                scores[k] = {m: pct(r[m]) for m in SHIPPED_KEYS if r.get(m) is not None}
            differ = sum(_key(a) != _key(b) for a, b in zip(preds["wide"], preds["compact"], strict=True))
            rec = {"set": dataset, "mode": "route" if routed else "given", "split": split, "n": len(gold)}
            runs.append({**rec, "differ": differ, "scores": scores})
            log.info("%s", runs[-1])
    return {
        "repack_seconds": round(secs, 1),
        "recalibrated": cal,
        "calibration_before": json.loads((model / "build_report.json").read_text()).get("calibration"),
        "bytes": size,
        "skill_bytes": per,
        "runs": runs,
    }


def shipped_markdown(rec: dict) -> str:
    lines = [
        "| set | mode | split | parses that differ | intent acc before / compact | slot F1 before / compact "
        "| exact before / compact | in-scope / OOS recall before → compact |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rec["runs"]:
        a, b = r["scores"]["wide"], r["scores"]["compact"]

        def pair(k: str, a: dict = a, b: dict = b) -> str:
            return f"{a[k]} / {b[k]}" if k in a and k in b else "–"

        oos = (
            f"{a['in_scope_accuracy']} / {a['oos_recall']} → {b['in_scope_accuracy']} / {b['oos_recall']}"
            if "oos_recall" in a and "oos_recall" in b
            else "–"
        )
        lines.append(
            f"| {r['set']} | {r['mode']} | {r['split']} | {r['differ']} of {r['n']} | {pair('intent_accuracy')} "
            f"| {pair('slot_f1')} | {pair('exact_match')} | {oos} |"
        )
    sk = rec["skill_bytes"]
    med = {k: statistics.median(v.values()) / 1024 for k, v in sk.items()}
    lines += [
        "",
        f"Skills on disk: {rec['bytes']['wide'] / 1e6:.2f} → {rec['bytes']['compact'] / 1e6:.2f} MB "
        f"({len(sk['wide'])} skills; median {med['wide']:.1f} → {med['compact']:.1f} KB, largest "
        f"{max(sk['wide'].values()) / 1024:.1f} → {max(sk['compact'].values()) / 1024:.1f} KB); "
        f"repacked in {rec['repack_seconds']} s.",
    ]
    if rec.get("recalibrated"):
        a, b = rec["calibration_before"] or {}, rec["recalibrated"]
        moved = sum(abs(a.get("temperature", {}).get(k, 0) - v) > 1e-4 for k, v in b["temperature"].items())
        lines[-1] += (
            f" Calibration re-run on the repacked copy (export.build --recalibrate): OOS threshold "
            f"{a.get('threshold')} → {b['threshold']}, {moved} of {len(b['temperature'])} skill temperatures moved."
        )
    return "\n".join(lines)


def table_markdown(per: dict[str, dict]) -> str:
    lines = [
        "| skill | file KB before → compact | dev parses that differ | dev slot F1 before / compact "
        "| test parses that differ | test slot F1 before / compact |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in per.items():
        d, t = r["splits"]["dev"], r["splits"]["test"]
        lines.append(
            f"| {name} | {r['bytes']['wide'] / 1024:.1f} → {r['bytes']['compact'] / 1024:.1f} "
            f"| {d['differ']} of {d['wide']['n']} | {d['wide']['slot_f1']} / {d['compact']['slot_f1']} "
            f"| {t['differ']} of {t['wide']['n']} | {t['wide']['slot_f1']} / {t['compact']['slot_f1']} |"
        )
    kb = {k: [r["bytes"][k] / 1024 for r in per.values()] for k in ("wide", "compact")}
    lines.append(
        f"| **median** | {statistics.median(kb['wide']):.1f} → {statistics.median(kb['compact']):.1f} "
        f"| {sum(r['splits']['dev']['differ'] for r in per.values())} of "
        f"{sum(r['splits']['dev']['wide']['n'] for r in per.values())} | "
        f"| {sum(r['splits']['test']['differ'] for r in per.values())} of "
        f"{sum(r['splits']['test']['wide']['n'] for r in per.values())} | |"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--skills", default=SKILLS)
    ap.add_argument("--model", default=str(DEFAULT_MODEL))
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--note", help="text printed under the table in RESULTS")
    ap.add_argument("--shipped", action="store_true", help="repack a copy of --model's own skills and compare")
    ap.add_argument("--recalibrate", action="store_true", help="with --shipped: redo the copy's calibration stage")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if args.shipped:
        return main_shipped(args, argv)
    import torch

    torch.set_num_threads(1)
    model = Path(args.model)
    per: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in [s.strip() for s in args.skills.split(",") if s.strip()]:
            per[name] = measure(model, name, Path(tmp))
    rec = {
        "section": "compact_heads",
        "title": "Compact skill heads: int8 lexical table, float16 matrices (rule 36)",
        "per_skill": per,
        "table_markdown": table_markdown(per),
        "notes": args.note or "",
        **run_meta(argv, "benchmarks.compact_heads"),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rec, indent=1) + "\n")
    print(rec["table_markdown"])
    return 0


def main_shipped(args: argparse.Namespace, argv: list[str] | None) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        got = measure_shipped(Path(args.model), Path(tmp), recalibrate=args.recalibrate)
    rec = {
        "section": "compact_heads",
        "title": "Compact skill heads: int8 lexical table, float16 matrices (rule 36)",
        **got,
        "table_markdown": shipped_markdown(got),
        "notes": args.note or "",
        **run_meta(argv, "benchmarks.compact_heads"),
    }
    out = Path(args.out).with_name("shipped.json") if args.out == DEFAULT_OUT else Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rec, indent=1) + "\n")
    print(rec["table_markdown"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
