"""Rewrite skills in the compact weight encoding: ``python -m export.repack MODEL_OR_SKILL ... [--base BASE]``.

Skills compiled before 2026-12-03 (rule 36) store their hashed lexical slot table float16 and their intent and slot
matrices float32. The runtime reads both encodings, so nothing has to change; repacking only makes the files (and
the lexical table in memory) smaller: the same float weights go through ``export.skill_compiler.pack_weights``, as a
compile writes them today. No retraining, and a repack of an already compact skill leaves its file untouched.

Each file is rewritten atomically (``rewrite_skill``: temp file beside it, then rename) with fresh sha256 sums; a
model folder's ``build_report.json`` gets the new sizes. Whether the parses stay the same is measured, not assumed:
``python -m benchmarks.compact_heads --shipped`` parses the dev and test sets with both encodings.
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
        for path in files:
            before, after, rewritten = repack_skill(path, base)
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
