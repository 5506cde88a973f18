"""What a compiled skill's compact heads change: ``python -m benchmarks.compact_heads [--skills alarm,...]``.

Since 2026-12-03 (rule 36) ``build-skill`` stores a skill's hashed lexical slot table int8 with a scale per tag
(was float16) and its intent and slot matrices float16 (were float32). The training is the same; only the stored
encoding differs. Per skill (HWU64 train rows, compiled on the embedded base with the compiler's defaults), this
compiles the skill once in the earlier encoding (``export.skill_compiler.COMPACT = False``), repacks that file's
weights into the compact encoding (bit-identical to compiling with ``COMPACT = True``: the same float weights go
through the same ``pack_weights``), then parses the skill's dev and test rows with both files through the runtime
(skill given) and reports how many parses differ (intent or any slot span), the scores, and the file sizes.
Writes ``benchmarks/results/compact_heads/compact_heads.json``.
"""

from __future__ import annotations

import argparse
import io
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

import numpy as np

from benchmarks.design import DEFAULT_MODEL, parse_eval, skill_rows
from benchmarks.report import RESULTS_DIR, run_meta

log = logging.getLogger("benchmarks.compact_heads")

SKILLS = "alarm,calendar,iot,play,email"  # the design table's HWU64 skills
SPLITS = ("dev", "test")


def repack(src: Path, dst: Path, base_manifest: dict) -> None:
    """``dst``: the skill ``src`` (earlier encoding) with its weights in the compact encoding."""
    from edge_nlu.runtime.artifacts import npz_bytes, rewrite_skill
    from export.skill_compiler import pack_weights

    def edit(members: dict[str, bytes]) -> None:
        npz = np.load(io.BytesIO(members["weights.npz"]), allow_pickle=False)
        members["weights.npz"] = npz_bytes(pack_weights({k: npz[k] for k in npz.files}))

    shutil.copyfile(src, dst)
    rewrite_skill(dst, base_manifest, edit)


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
    ap.add_argument("--out", default=str(RESULTS_DIR / "compact_heads" / "compact_heads.json"))
    ap.add_argument("--note", help="text printed under the table in RESULTS")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
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


if __name__ == "__main__":
    sys.exit(main())
