"""Two builds side by side on the same test sets: ``python -m benchmarks.compare A_RESULTS B_RESULTS ...``.

Reads the accuracy JSONs that ``python -m benchmarks.accuracy --system edge-nlu --model DIR --results ROOT`` wrote
for two model folders and writes a plug-in table (``benchmarks/results/<section>/<section>.json``) for RESULTS.md,
e.g. the shipped student against the same build distilled from the teacher.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

OUT = Path(__file__).resolve().parent / "results"
KEYS = {"skill_given": ("intent_accuracy", "slot_f1", "exact_match"), "route": ("intent_accuracy",)}


def rows(root: Path) -> dict[tuple[str, str], dict]:
    out = {}
    for p in sorted((root / "accuracy").glob("edge-nlu__*.json")):
        d = json.loads(p.read_text())
        out[(d["set"], d.get("mode", "skill_given"))] = d["metrics"]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("a", help="results root of build A")
    ap.add_argument("b", help="results root of build B")
    ap.add_argument("--label-a", default="A")
    ap.add_argument("--label-b", default="B")
    ap.add_argument("--section", default="compare")
    ap.add_argument("--title", default="Build comparison")
    ap.add_argument("--notes", default="")
    args = ap.parse_args()
    a, b = rows(Path(args.a)), rows(Path(args.b))
    lines = [f"| test set | metric | {args.label_a} | {args.label_b} |", "|---|---|---|---|"]
    for key in sorted(set(a) & set(b)):
        dset, mode = key
        metrics = ("in_scope_accuracy", "oos_recall") if dset == "clinc150" else KEYS.get(mode, KEYS["skill_given"])
        va = " / ".join("–" if a[key].get(m) is None else f"{a[key][m]:.2f}" for m in metrics)
        vb = " / ".join("–" if b[key].get(m) is None else f"{b[key][m]:.2f}" for m in metrics)
        lines.append(f"| {dset} ({mode}) | {' / '.join(metrics)} | {va} | {vb} |")
    out = OUT / args.section
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{args.section}.json").write_text(
        json.dumps(
            {
                "section": args.section,
                "title": args.title,
                "table_markdown": "\n".join(lines),
                "notes": args.notes,
                "command": "python -m benchmarks.compare " + " ".join(f"{k}" for k in (args.a, args.b)),
                "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            },
            indent=1,
        )
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
