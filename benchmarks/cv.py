"""Build options chosen by k-fold CV on train: ``python -m benchmarks.cv --set atis --variant NAME=KEY=VALUE,...``.

A 500-row dev split moves by a point when two utterances flip, and the test split must not choose, so options are
compared on every train row instead: the train split is cut into k folds (those of :mod:`benchmarks.intent_prior`),
each variant of the data set's config is built on k-1 folds and parses the held-out fold with its skill given, and
the held-out predictions of all folds are scored together (intent accuracy, span slot F1, exact match). Each variant
is also compared row by row with the first one (rows it gets right that the first gets wrong, and the reverse).
Writes ``benchmarks/results/cv/<set>.json``.

A variant is a name and config overrides: ``ema=student.ema_epochs=2``,
``both=student.ema_epochs=2,student.word_drop=0.1`` (values are JSON, else strings); ``base=`` is the config as is.
``--ensemble ens=s0+s1+s2`` also merges each fold's models of those variants (e.g. the config at three seeds) into one
with :mod:`export.ensemble` and scores the merge as a row.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import os
import re
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

from benchmarks._measure import write_json
from benchmarks.intent_prior import build, make_folds
from benchmarks.report import RESULTS_DIR, run_meta
from edge_nlu.data import data_dir

log = logging.getLogger("benchmarks.cv")
NO_BUILD_NOTE = "(--no-build: the fold models already in the work folder, scored as they were built.) "


def parse_variant(text: str) -> tuple[str, dict]:
    """``name=a.b=1,c=x`` -> ("name", {"a.b": 1, "c": "x"}). A name is a file name stem: letters, digits, _ and -."""
    name, _, rest = text.partition("=")
    if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
        raise SystemExit(
            f"--variant {text!r}: expected NAME=KEY=VALUE[,KEY=VALUE] (or NAME= for the config as is), NAME made of "
            "letters, digits, '_' and '-'"
        )
    overrides = {}
    for item in filter(None, rest.split(",")):
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise SystemExit(f"--variant {text!r}: {item!r} is not KEY=VALUE")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    return name, overrides


def apply_overrides(cfg: dict, overrides: dict) -> dict:
    out = copy.deepcopy(cfg)
    for key, value in overrides.items():
        node = out
        *parents, last = key.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[last] = value
    return out


def _model_dir(work: Path, name: str, folds: int, fold: int) -> Path:
    return work / f"{name}-k{folds}-model{fold}"


def parse_ensemble(text: str, names: list[str]) -> tuple[str, list[str]]:
    """``ens=a+b+c`` -> ("ens", ["a", "b", "c"]), each part a variant's name."""
    name, _, rest = text.partition("=")
    parts = [p for p in rest.split("+") if p]
    if not re.fullmatch(r"[A-Za-z0-9_-]+", name) or len(parts) < 2:
        raise SystemExit(f"--ensemble {text!r}: expected NAME=A+B[+C...] (two or more variants)")
    unknown = [p for p in parts if p not in names]
    if unknown:
        raise SystemExit(f"--ensemble {text!r}: no --variant named {', '.join(unknown)}")
    return name, parts


def merge_fold(members: list[Path], out: Path, data: Path) -> None:
    """The fold's merged model (export.ensemble), made again when a member was rebuilt after it."""
    from export.ensemble import merge

    report = out / "build_report.json"
    if report.exists() and all(report.stat().st_mtime >= (m / "build_report.json").stat().st_mtime for m in members):
        return
    merge(members, out, data=data)


def held_out_predictions(
    model: Path, data: Path, name: str, joint_weight: float | None = None, route: bool = False
) -> tuple[list, list]:
    """The held-out fold's rows of the skills the model has, and the model's parses of them, skill given (with joint
    intent-slot decoding at ``joint_weight``, if given); ``route``: routed among the model's enabled skills."""
    import edge_nlu
    from edge_nlu.definitions.jsonl import read_jsonl

    nlu = edge_nlu.load(model, home=str(model / "_home"), verify=False, joint_weight=joint_weight)
    built = set(nlu.skills)
    gold = [u for u in read_jsonl(data / name / "dev.jsonl") if u.skill in built]
    pred = [nlu.parse(u.text, skill=None if route else u.skill).to_utterance() for u in gold]
    return gold, pred


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", default="atis")
    ap.add_argument("--config", help="build config (default: export/configs/<set>.json)")
    ap.add_argument("--variant", action="append", required=True, help="NAME=KEY=VALUE[,KEY=VALUE]; first = reference")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--jobs", type=int, default=2, help="fold builds run side by side (one thread each)")
    ap.add_argument("--work", help="folder for the fold data and models (default: a temporary folder)")
    ap.add_argument("--out", help="result JSON (default: benchmarks/results/cv/<set>.json)")
    ap.add_argument("--note", default="", help="text appended to the table's notes (e.g. the decision rule)")
    ap.add_argument(
        "--joint-weights",
        default="",
        help="comma-separated joint decoding weights: each variant's fold models also parse with each (rows NAME@jW)",
    )
    ap.add_argument("--route", action="store_true", help="parse routed among the fold model's skills (not given)")
    ap.add_argument(
        "--ensemble",
        action="append",
        default=[],
        help="NAME=A+B[+C...]: merge each fold's models of variants A, B, ... into one (export.ensemble) and score it",
    )
    ap.add_argument(
        "--no-build",
        action="store_true",
        help="score the fold models already in --work as they are (e.g. after the config file has changed)",
    )
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    from edge_nlu.metrics import evaluate_skills

    variants = [parse_variant(v) for v in args.variant]
    ensembles = [parse_ensemble(e, [name for name, _ in variants]) for e in args.ensemble]
    if len({name for name, _ in variants} | {name for name, _ in ensembles}) < len(variants) + len(ensembles):
        raise SystemExit("--variant/--ensemble: each needs its own name")
    config_path = Path(args.config or f"export/configs/{args.set}.json")
    base_cfg = json.loads(config_path.read_text())
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.work or tmp)
        roots = make_folds(data_dir(), args.set, args.folds, work)
        todo = []
        for name, overrides in variants:
            if args.no_build:
                models = [_model_dir(work, name, args.folds, f) for f in range(args.folds)]
                missing = [f for f, m in enumerate(models) if not (m / "build_report.json").exists()]
                if missing:
                    raise SystemExit(f"--no-build: {work} has no built fold models {missing} of variant {name}")
                continue
            cfg_file = work / f"{name}.json"
            text = json.dumps(apply_overrides(base_cfg, overrides), indent=1)
            stale = cfg_file.exists() and cfg_file.read_text() != text  # a --work folder reused with other overrides
            cfg_file.write_text(text)
            for f, root in enumerate(roots):
                model = _model_dir(work, name, args.folds, f)
                if stale or not (model / "build_report.json").exists():
                    todo.append((cfg_file, root, model))
        log.info("building %d fold models (%d side by side) ...", len(todo), args.jobs)
        with ThreadPoolExecutor(args.jobs) as pool:
            for k, _ in enumerate(pool.map(lambda t: build(*t), todo)):
                log.info("fold model %d/%d built (%.0f s)", k + 1, len(todo), time.time() - t0)
        for name, parts in ensembles:
            for f, root in enumerate(roots):
                merge_fold(
                    [_model_dir(work, p, args.folds, f) for p in parts], _model_dir(work, name, args.folds, f), root
                )
            variants.append((name, {"ensemble": parts}))
        scores, right, texts = {}, {}, {}
        weights = [float(w) for w in args.joint_weights.split(",") if w.strip()]
        decoded = []  # (row name, variant name, overrides, joint weight)
        for name, overrides in variants:
            decoded.append((name, name, overrides, None))
            decoded += [(f"{name}@j{w:g}", name, {**overrides, "(joint_weight)": w}, w) for w in weights]
        for row, name, _, weight in decoded:
            gold, pred = [], []
            for f, root in enumerate(roots):
                g, p = held_out_predictions(_model_dir(work, name, args.folds, f), root, args.set, weight, args.route)
                gold += g
                pred += p
            scores[row] = evaluate_skills(gold, pred)
            right[row] = [
                int(g.intent == p.intent and (not args.route or g.skill == p.skill)) for g, p in zip(gold, pred)
            ]
            texts[row] = [g.text for g in gold]
    variants = [(row, over) for row, _, over, _ in decoded]
    ref = variants[0][0]
    for name, _ in variants[1:]:
        if texts[name] != texts[ref]:  # e.g. a variant that builds other skills: rows cannot be compared one by one
            raise SystemExit(f"variant {name} scored other held-out rows than {ref}: give the variants the same skills")
    pct = lambda v: "–" if v is None else f"{100 * v:.2f}"  # noqa: E731
    lines = [
        f"| variant | overrides | CV intent acc | slot F1 | exact | intent rows gained / lost vs {ref} |",
        "|---|---|---|---|---|---|",
    ]
    for name, overrides in variants:
        s = scores[name]
        gained = sum(a > b for a, b in zip(right[name], right[ref]))
        lost = sum(a < b for a, b in zip(right[name], right[ref]))
        over = ", ".join(f"{k} {json.dumps(v)}" for k, v in overrides.items()) or "(config as is)"
        diff = "–" if name == ref else f"+{gained} / -{lost}"
        cells = [name, over, pct(s["intent_accuracy"]), pct(s["slot_f1"]), pct(s["exact_match"]), diff]
        lines.append("| " + " | ".join(cells) + " |")
    n = len(right[ref])
    rec = {
        "section": "cv",
        "title": f"Build options: {args.folds}-fold CV on {args.set} train" + (", routed" if args.route else ""),
        "set": args.set,
        "n": n,
        "scores": scores,
        "seconds": round(time.time() - t0, 1),
        "table_markdown": "\n".join(lines),
        "notes": (
            f"{n} train rows of {args.set}, each parsed ({'routed among its skills' if args.route else 'skill given'}) "
            "by the model of each variant built without its "
            f"fold ({config_path} + the overrides); scores pooled over the folds, percent. "
            f"{round(time.time() - t0)} s. "
            f"{NO_BUILD_NOTE if args.no_build else ''}"
            f"{args.note}"
        ).strip(),
        **run_meta(argv, "benchmarks.cv"),
    }
    write_json(Path(args.out or RESULTS_DIR / "cv" / f"{args.set}.json"), rec)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
