"""Joint decoding for compiled skills: ``python -m benchmarks.joint_compiled [--sizes 10,30] [--jobs 2]``.

Which joint decoding weight suits a skill compiled with ``edge-nlu build-skill`` from a few examples (the evidence for
rules 48 and 50: none for skills whose intents' slots are only what their examples show, 0 for an Alexa model's,
whose intents declare theirs; the Snips-2017 protocol's skills have one intent each). This benchmark compiles the
18 HWU64 skills on a base (default: the embedded model) from N train rows per intent (``random.Random(seed).sample``
per intent; every row where an intent has fewer), installs each over the model's own skill of that name in a
temporary store, and parses HWU64 dev and test with the skill given, at joint weights off, 0, 0.5, 1 and 2. Writes
``benchmarks/results/joint/joint_compiled.json``. With ``--schema`` each intent declares the slots it has anywhere
in HWU64 train, as an Alexa interaction model declares its intents' slots (the compiled skill then allows exactly
those: ``SkillDefinition.declares_intent_slots``); writes ``joint_compiled_schema.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from benchmarks.report import RESULTS_DIR, pct, run_meta

log = logging.getLogger("benchmarks.joint_compiled")

WEIGHTS = (None, 0.0, 0.5, 1.0, 2.0)
KEYS = ("intent_accuracy", "slot_f1", "exact_match")
DEFAULT_OUT = str(RESULTS_DIR / "joint" / "joint_compiled.json")


def draw_rows(rows: list, size: int, seed: int) -> list:
    """``size`` rows of each intent (all of an intent's rows when it has fewer; 0: every row), in file order."""
    if size <= 0:
        return list(rows)
    by_intent: dict[str, list[int]] = {}
    for k, u in enumerate(rows):
        by_intent.setdefault(u.intent, []).append(k)
    keep: set[int] = set()
    for intent in sorted(by_intent):
        ks = by_intent[intent]
        keep.update(random.Random(f"{seed}/{intent}").sample(ks, min(size, len(ks))))
    return [u for k, u in enumerate(rows) if k in keep]


def definition(name: str, size: int, seed: int, schema: bool):
    """Skill ``name``'s definition from its drawn train rows; with ``schema``, each intent declares the slots it has
    anywhere in HWU64 train (as an Alexa interaction model would), not only those its drawn rows show."""
    from edge_nlu.data import split_path
    from edge_nlu.definitions.jsonl import definition_from_utterances, read_jsonl
    from edge_nlu.definitions.model import Slot, SlotType

    every = [u for u in read_jsonl(split_path("hwu64", "train")) if u.skill == name]
    d = definition_from_utterances(name, draw_rows(every, size, seed))
    if schema:
        for intent, it in d.intents.items():
            names = sorted({s.slot for u in every if u.intent == intent for s in u.slots})
            it.slots = [Slot(n, n) for n in names]
            for n in names:
                d.slot_types.setdefault(n, SlotType(n))
        d.declares_intent_slots = True
    return d


def _compile(job: tuple) -> tuple[str, int, float]:
    """Compile one skill (a worker process, one thread): (skill, utterances, seconds)."""
    name, size, seed, model, out, schema = job
    from export.skill_compiler import compile_skill

    d = definition(name, size, seed, schema)
    t0 = time.perf_counter()
    compile_skill(d, Path(model), Path(out), seed=seed)
    return name, len(d.utterances()), time.perf_counter() - t0


def score(model: Path, skills: dict[str, Path], split: str, weight: float | None, home: Path) -> dict:
    """Intent accuracy, slot F1 and exact match (percent) of the split, skill given, with the compiled skills."""
    import edge_nlu
    from edge_nlu.data import split_path
    from edge_nlu.definitions.jsonl import read_jsonl
    from edge_nlu.metrics import evaluate_skills

    nlu = edge_nlu.load(model, home=str(home), joint_weight=weight)
    gold = [u for u in read_jsonl(split_path("hwu64", split)) if u.skill in skills]
    pred = [nlu.parse(u.text, skill=u.skill).to_utterance() for u in gold]
    m = evaluate_skills(gold, pred)
    return {"n": len(gold), **{k: pct(m[k]) for k in KEYS}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="base model folder (default: the embedded model)")
    ap.add_argument("--sizes", default="10,30", help="train rows per intent, comma-separated (0: all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2, help="skills compiled side by side (one thread each)")
    ap.add_argument("--work", default=None, help="folder for the compiled skills (default: a temporary folder)")
    ap.add_argument(
        "--schema", action="store_true", help="each intent declares the slots it has in all of HWU64 train (Alexa-like)"
    )
    ap.add_argument("--out", default=None, help=f"(default: {DEFAULT_OUT}, or *_schema.json with --schema)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    import edge_nlu
    from benchmarks.design import DEFAULT_MODEL
    from edge_nlu.data import split_path
    from edge_nlu.definitions.jsonl import read_jsonl

    model = Path(args.model) if args.model else DEFAULT_MODEL
    out_path = Path(args.out or (DEFAULT_OUT.replace(".json", "_schema.json") if args.schema else DEFAULT_OUT))
    names = sorted({u.skill for u in read_jsonl(split_path("hwu64", "train"))})
    installed = set(edge_nlu.load(model).skills)
    if not set(names) <= installed:
        raise SystemExit(f"{model} lacks HWU64 skills {sorted(set(names) - installed)}")
    sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    tmp = tempfile.TemporaryDirectory(prefix="edge-nlu-joint-compiled-")
    work = Path(args.work) if args.work else Path(tmp.name)
    t0 = time.perf_counter()
    results: dict[str, dict] = {}
    for size in sizes:
        folder = work / f"n{size}-seed{args.seed}{'-schema' if args.schema else ''}"
        folder.mkdir(parents=True, exist_ok=True)
        jobs = [(n, size, args.seed, str(model), str(folder / f"{n}.skill"), args.schema) for n in names]
        todo = [j for j in jobs if not Path(j[4]).exists()]  # a --work folder keeps what an earlier run compiled
        compiled = {}
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            for k, (name, n_rows, secs) in enumerate(pool.map(_compile, todo)):
                compiled[name] = {"utterances": n_rows, "seconds": round(secs, 1)}
                log.info("N=%d: %s compiled (%d rows, %.0f s) [%d/%d]", size, name, n_rows, secs, k + 1, len(todo))
        home = folder.with_name(f"home-{folder.name}")
        nlu = edge_nlu.load(model, home=str(home))
        for n in names:  # over the model's own skill of that name, in this store only
            nlu.install_skill(folder / f"{n}.skill", name=n)
        skills = {n: folder / f"{n}.skill" for n in names}
        rec: dict[str, dict] = {"compiled": compiled}
        for split in ("dev", "test"):
            rec[split] = {str(w): score(model, skills, split, w, home) for w in WEIGHTS}
            log.info("N=%d %s: %s", size, split, rec[split])
        results[str(size)] = rec
    lines = [
        "| rows per intent | split | " + " | ".join("off" if w is None else f"W={w:g}" for w in WEIGHTS) + " |",
        "|---|---|" + "---|" * len(WEIGHTS),
    ]
    for size, rec in results.items():
        for split in ("dev", "test"):
            cells = " | ".join(" / ".join(f"{s[k]:.2f}" for k in KEYS) for s in rec[split].values())
            label = ("all" if size == "0" else size) + (", declared slots" if args.schema else "")
            lines.append(f"| {label} | {split} | {cells} |")
    out = {
        "section": "joint_compiled",
        "title": "Joint decoding for compiled skills (HWU64 skills compiled from a few rows per intent)",
        "sizes": sizes,
        "schema": args.schema,
        "seed": args.seed,
        "model": str(model),
        "results": results,
        "table_markdown": "\n".join(lines),
        "notes": (
            "Cells: intent accuracy / slot F1 / exact match (percent), HWU64 dev and test, skill given, pooled over "
            "the 18 skills, each compiled by `export.skill_compiler.compile_skill` (today's defaults) from the given "
            "number of its train rows per intent and installed over the model's own skill of that name. off: joint "
            "decoding off (what a compiled skill does unless given a weight); W: `edge_nlu.load(..., "
            "joint_weight=W)`."
        ),
        "seconds": round(time.perf_counter() - t0, 1),
        **run_meta(argv),
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(out, indent=1) + "\n")
    print(out["table_markdown"])
    log.info("wrote %s in %.0f s", out_path, out["seconds"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
