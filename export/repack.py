"""Rewrite skills in the compact weight encoding: ``python -m export.repack MODEL_OR_SKILL ... [--base BASE]``.

Skills compiled before 2026-12-03 (rule 36) store their hashed lexical slot table float16 and their intent and slot
matrices float32. The runtime reads both encodings, so nothing has to change; repacking only makes the files (and
the lexical table in memory) smaller: the same float weights go through ``export.skill_compiler.pack_weights``, as a
compile writes them today. No retraining, and a repack of an already compact skill leaves its file untouched.

Each file is rewritten atomically (``rewrite_skill``: temp file beside it, then rename) with fresh sha256 sums; a
model folder's ``build_report.json`` gets the new sizes. Whether the parses stay the same is measured, not assumed:
``python -m benchmarks.compact_heads --shipped`` parses the dev and test sets with both encodings.

``--intent-slots`` also records, in each skill of a model folder, which slots each of its intents may carry (for
joint intent-slot decoding, ``edge_nlu.runtime.skill.JOINT_CANDIDATES``), computed from the training rows named by
the folder's build report as a build computes them since 2026-12-04. Only labels.json changes: parses without
joint decoding stay exactly the same. ``--joint-weights SET=W,...`` records the weight the runtime's default
(``joint_weight="auto"``) uses in the skills of those data sets, as a build config's ``joint_weights`` does.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

import numpy as np

from edge_nlu.runtime.artifacts import npz_arrays, npz_bytes, rewrite_skill, verify_base
from export.skill_compiler import HALF, pack_weights, unpack_weights

log = logging.getLogger("export.repack")


def is_compact(arrays: dict[str, np.ndarray]) -> bool:
    """True when ``arrays`` (a weights.npz) is in the encoding ``pack_weights`` writes today."""
    lex_ok = "lex_w" not in arrays or ("lex_s" in arrays and arrays["lex_w"].dtype == np.int8)
    return lex_ok and all(arrays[k].dtype == np.float16 for k in HALF if k in arrays)


def repack_skill(path: Path, base_manifest: dict | None = None) -> tuple[int, int, bool]:
    """Rewrite the skill file at ``path`` in the compact encoding; returns its size in bytes before and after, and
    whether it was rewritten (not when it was compact already: then the file is not touched)."""
    before = path.stat().st_size
    rewritten = False

    def edit(members: dict[str, bytes]) -> bool | None:
        nonlocal rewritten
        arrays = npz_arrays(members["weights.npz"])
        if is_compact(arrays):
            return False
        members["weights.npz"] = npz_bytes(pack_weights(unpack_weights(arrays)))
        rewritten = True
        return None

    rewrite_skill(path, base_manifest, edit)
    return before, path.stat().st_size, rewritten


def _build_inputs(model: Path):
    """(build config, corpus) of the model's build, from the config in its build_report.json: the rows its skills
    were trained on."""
    from export.build import effective_config
    from export.corpus import load_corpus

    report = model / "build_report.json"
    if not report.is_file():
        raise FileNotFoundError(f"{model}: no build_report.json, so no record of the rows its skills were built from")
    cfg = effective_config(json.loads(report.read_text())["config"])
    return cfg, load_corpus(cfg["sets"], limit_per_skill=cfg.get("limit_per_skill"), seed=cfg["seed"])


def intent_slots_by_skill(corpus) -> dict[str, dict[str, list[str]]]:
    """skill -> intent -> the slots it may carry, as a build writes them today (``export.student.intent_slots_of``)."""
    from export.student import MIN_EXPECTED, intent_slots_of

    rows: dict[str, list] = {}
    for u in corpus.train:
        if u.skill is not None:  # (out-of-scope rows belong to no skill)
            rows.setdefault(u.skill, []).append(u)
    return {k: intent_slots_of(v, MIN_EXPECTED) for k, v in sorted(rows.items())}


def set_labels(path: Path, base_manifest: dict | None, by_name: dict[str, dict]) -> bool:
    """Set the labels.json keys ``by_name`` gives for the skill's name (intent_slots, joint_weight); False when it
    had them already or has no entry (the file is then not touched)."""
    changed = False

    def edit(members: dict[str, bytes]) -> bool | None:
        nonlocal changed
        labels = json.loads(members["labels.json"])
        updates = by_name.get(labels["name"], {})
        if all(labels.get(k) == v for k, v in updates.items()):
            return False
        labels.update(updates)
        members["labels.json"] = json.dumps(labels).encode()
        changed = True
        return None

    rewrite_skill(path, base_manifest, edit)
    return changed


def _per_set(text: str) -> dict[str, float]:
    """``snips=1,hwu64=0.5`` -> {"snips": 1.0, "hwu64": 0.5}."""
    from edge_nlu.runtime.skill import is_weight

    out = {}
    for item in filter(None, text.split(",")):
        name, eq, value = item.partition("=")
        try:
            out[name] = float(value)
        except ValueError:
            out[name] = -1.0
        if not eq or not name or not is_weight(out[name]):
            raise SystemExit(f"--joint-weights {text!r}: expected SET=W[,SET=W] with W >= 0")
    return out


def skill_files(target: Path) -> list[Path]:
    """The skill files a target names: a ``.skill`` file itself, or a model folder's ``skills/*.skill``."""
    if target.is_dir():
        files = sorted((target / "skills").glob("*.skill"))
        if not files:
            raise FileNotFoundError(f"{target}: no skills/*.skill in this folder (a model folder was expected)")
        return files
    if not target.is_file():
        raise FileNotFoundError(f"{target}: no such skill file or model folder")
    return [target]


def _update_report(model: Path, sizes: dict[str, int], changed: list[str], seconds: float) -> None:
    """A model folder's build report lists each skill's bytes: keep it true (atomically, like the skills), and say
    which skills were repacked after the build."""
    path = model / "build_report.json"
    if not path.is_file() or not changed:
        return
    report = json.loads(path.read_text())
    report.setdefault("sizes", {}).setdefault("skills_bytes", {}).update(sizes)
    report.setdefault("stages", {})["repack"] = {"seconds": round(seconds, 1), "skills": changed, "rerun": True}
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(report, indent=1))
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("targets", nargs="+", help="model folders (their skills/*.skill) or .skill files")
    ap.add_argument("--base", help="base folder the skills belong to (default: a model folder's own base)")
    ap.add_argument(
        "--intent-slots",
        action="store_true",
        help="also record which slots each intent may carry (joint decoding), from the training rows in a model "
        "folder's build report (model folders only)",
    )
    ap.add_argument(
        "--joint-weights",
        metavar="SET=W,...",
        help="also record a joint decoding weight in the skills of these data sets (model folders only)",
    )
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    total = [0, 0]
    for target in map(Path, args.targets):
        files = skill_files(target)
        base_dir = Path(args.base) if args.base else (target / "base" if target.is_dir() else None)
        base = verify_base(base_dir) if base_dir else None
        sizes: dict[str, int] = {}
        changed: list[str] = []
        t0 = time.perf_counter()
        if (args.intent_slots or args.joint_weights) and not target.is_dir():
            raise SystemExit(f"{target}: --intent-slots and --joint-weights need a model folder (its build report)")
        by_name: dict[str, dict] = {}
        if args.intent_slots or args.joint_weights:
            from export.build import joint_weights

            cfg, corpus = _build_inputs(target)
            for name, slots in (intent_slots_by_skill(corpus) if args.intent_slots else {}).items():
                by_name.setdefault(name, {})["intent_slots"] = slots
            per_set = _per_set(args.joint_weights) if args.joint_weights else {}
            for name, w in joint_weights({**cfg, "joint_weights": per_set}, corpus).items():
                by_name.setdefault(name, {})["joint_weight"] = w
        for path in files:
            before, after, rewritten = repack_skill(path, base)
            if by_name and set_labels(path, base, by_name):
                after = path.stat().st_size
                rewritten = True
                log.info("%s: labels updated (%s)", path, ", ".join(sorted({k for v in by_name.values() for k in v})))
            if rewritten:
                changed.append(path.stem)
            total[0] += before
            total[1] += after
            sizes[path.stem] = after
            same = "" if rewritten else " (compact already)"
            log.info("%s: %.1f -> %.1f KB%s", path, before / 1024, after / 1024, same)
        if target.is_dir():
            _update_report(target, sizes, changed, time.perf_counter() - t0)
    log.info("%.2f -> %.2f MB", total[0] / 1e6, total[1] / 1e6)
    return 0


if __name__ == "__main__":
    sys.exit(main())
