"""Long fuzz run and memory soak (issue 5.6), plus one run of the reliability tests for their counts.

    python -m benchmarks.fuzz_soak [--model DIR] [--examples 100000] [--parses 100000] [--skills 200] [--cap 32]

1. Fuzz: ``--examples`` random texts (every code point incl. unpaired surrogates, combining marks, RTL, emoji,
   control characters, whitespace only, very long words, over-limit 100 kB strings) through ``parse``: a well-formed
   result (slot offsets index the text) or InputError over the length limit, each call under a time bound.
2. Soak: ``--skills`` distinct copies of one skill (rewritten under new names with read_skill/write_skill, so each
   manifest stays valid) installed in a temporary store, an LRU cap of ``--cap`` resident skills, ``--parses`` parses
   round-robin across them; RSS (VmRSS) sampled over time -> ``benchmarks/soak_rss.png``.
3. The reliability tests (tests/test_reliability_*.py) run once with pytest; their ``RELIABILITY name=count`` lines
   give the counts of the table (mutated files, corruptions, kills, threads).

Writes ``benchmarks/results/reliability/reliability.json`` (``section: reliability``, ``table_markdown``).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = ROOT / "edge_nlu" / "models" / "default"
RESULTS = ROOT / "benchmarks" / "results" / "reliability" / "reliability.json"
PNG = ROOT / "benchmarks" / "soak_rss.png"
BOUND_S = 0.5
WORDS = (
    "set an alarm for 7 am wake me up at seven tomorrow weather in paris rain is it going to cancel my what's the "
    "how many cups order a large pepperoni pizza play some jazz turn off the lights , ? !"
).split()
ODD = [
    "\u0301", "\u202e", "\u200f", "\u200d", "\U0001f600", "\U0001f3f3\ufe0f\u200d\U0001f308", "\x00", "\x1b", "\ud800",
    "\udcff", "\ufeff", "\u3000", "\xa0", "\t", "\x85", "\u2028", "\xdf", "\u0130", "\ufb01", "\u0661", "\U000e0001",
    "\u05d0\u05d1", "\u0627\u0644", "\u4f60\u597d", "\uff53\uff45\uff54",
]  # fmt: skip


def random_text(rng: random.Random, max_chars: int) -> str:
    """One fuzz input; the kinds mirror the hypothesis strategies of tests/test_reliability_parse.py."""
    kind = rng.randrange(7)
    if kind == 0:  # utterance-like with odd tokens
        return " ".join(rng.choice(WORDS) if rng.random() < 0.7 else rng.choice(ODD) for _ in range(rng.randrange(25)))
    if kind == 1:  # arbitrary code points (surrogates included)
        return "".join(chr(rng.randrange(0x110000)) for _ in range(rng.randrange(120)))
    if kind == 2:  # mostly printable ASCII
        return "".join(chr(rng.randrange(0x20, 0x7F)) for _ in range(rng.randrange(200)))
    if kind == 3:  # whitespace only, or empty
        return "".join(rng.choice(" \t\n\r\x0b\x0c\x1c\x85\xa0\u2028\u3000") for _ in range(rng.randrange(40)))
    if kind == 4:  # one very long word, around the length limit
        return rng.choice(WORDS + ODD) * rng.randint(1, max_chars + 50)
    if kind == 5:  # combining marks stacked on letters
        return "".join("a" + "\u0301\u0300\u0302"[: rng.randint(1, 3)] for _ in range(rng.randrange(300)))
    return rng.choice(["a", " ", "\U0001f600", "word "]) * rng.randint(50_000, 100_000)  # 100 kB: refused


def fuzz(nlu, n: int, seed: int = 0) -> dict:
    from edge_nlu.errors import InputError
    from edge_nlu.runtime.nlu import MAX_CHARS

    rng = random.Random(seed)
    kw = [{}, {}, {"n_best": 3}]
    names = nlu.skills
    out = {"examples": n, "parsed": 0, "refused": 0, "failures": 0, "worst_ms": 0.0, "first_failures": []}
    t_start = time.perf_counter()
    for i in range(n):
        text = random_text(rng, MAX_CHARS)
        k = dict(kw[i % len(kw)])
        if i % 5 == 4 and names:
            k = {"skill": names[i % len(names)]}
        t0 = time.perf_counter()
        try:
            r = nlu.parse(text, **k)
            took = time.perf_counter() - t0
            ok = r.text == text and all(text[s.start : s.end] == s.value for s in r.slots)
            ok = ok and 0.0 <= r.confidence <= 1.0 + 1e-6 and len(text) <= MAX_CHARS and took < BOUND_S
            json.loads(r.to_json())
            out["parsed"] += 1
        except InputError:
            took = time.perf_counter() - t0
            ok = len(text) > MAX_CHARS and took < BOUND_S
            out["refused"] += 1
        except Exception as e:  # noqa: BLE001 - counted and reported, never hidden
            took, ok = time.perf_counter() - t0, False
            text = f"{text[:80]!r}: {type(e).__name__}: {e}"
        out["worst_ms"] = max(out["worst_ms"], 1000 * took)
        if not ok:
            out["failures"] += 1
            if len(out["first_failures"]) < 5:
                out["first_failures"].append(repr(text[:120]))
    out["seconds"] = round(time.perf_counter() - t_start, 1)
    out["worst_ms"] = round(out["worst_ms"], 2)
    return out


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def copy_skill(src: Path, dst: Path, name: str) -> Path:
    """``src`` rewritten under ``name`` (new manifest, same members): a distinct, valid skill."""
    from edge_nlu.runtime.artifacts import read_skill, write_skill

    manifest, members = read_skill(src)
    meta = {k: v for k, v in manifest.items() if k not in ("format", "format_version", "files")}
    meta["name"] = name
    write_skill(dst, members, meta)
    return dst


def soak(model: Path, n_skills: int, cap: int, parses: int, samples: int = 200) -> dict:
    import edge_nlu

    with tempfile.TemporaryDirectory(prefix="edge-nlu-soak-") as tmp:
        tmp = Path(tmp)
        nlu = edge_nlu.load(model, home=tmp / "home", max_resident=cap)
        src_name = nlu.skills[0]
        src = nlu._paths[src_name]
        names = []
        t0 = time.perf_counter()
        for i in range(n_skills):
            name = f"soak{i:04d}"
            nlu.install_skill(copy_skill(src, tmp / f"{name}.skill", name), name=name, enable=False)
            (tmp / f"{name}.skill").unlink()
            names.append(name)
        install_s = time.perf_counter() - t0
        texts = [
            "set an alarm for seven thirty tomorrow morning",
            "what's the weather like in paris today",
            "order a large pepperoni pizza",
            "play some jazz",
            "how many cups in a gallon",
            "turn off the lights in the kitchen",
        ]
        every = max(1, parses // samples)
        series = [(0, rss_mb())]
        failures = 0
        t0 = time.perf_counter()
        for i in range(parses):
            try:
                r = nlu.parse(texts[i % len(texts)], skill=names[i % n_skills])
                failures += r.skill != names[i % n_skills]
            except Exception:  # noqa: BLE001 - counted
                failures += 1
            if (i + 1) % every == 0:
                series.append((i + 1, rss_mb()))
        parse_s = time.perf_counter() - t0
        resident = len(nlu._cache)
    rss = [m for _, m in series]
    half = rss[len(rss) // 2 :]
    return {
        "skills": n_skills,
        "cap": cap,
        "parses": parses,
        "source_skill": src_name,
        "install_seconds": round(install_s, 1),
        "parse_seconds": round(parse_s, 1),
        "mean_parse_ms": round(1000 * parse_s / max(1, parses), 3),
        "resident_at_end": resident,
        "rss_start_mb": round(rss[0], 1),
        "rss_max_mb": round(max(rss), 1),
        "rss_end_mb": round(rss[-1], 1),
        "rss_growth_second_half_mb": round(half[-1] - half[0], 1),
        "failures": failures,
        "series": [[i, round(m, 2)] for i, m in series],
    }


def plot(series: list, out: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot([s[0] for s in series], [s[1] for s in series], lw=1.5)
    ax.set_xlabel("parses")
    ax.set_ylabel("RSS (MB)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.set_ylim(bottom=0)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def run_tests() -> dict:
    """The reliability tests, once; returns their RELIABILITY counts, pass/fail numbers and wall time."""
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tests").glob("test_reliability_*.py"))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", *files]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    counts: dict[str, int] = {}
    for m in re.finditer(r"RELIABILITY (\w+)=(\d+)", p.stdout):
        counts[m.group(1)] = counts.get(m.group(1), 0) + int(m.group(2))
    summary = {k: int(v) for v, k in re.findall(r"(\d+) (passed|failed|errors?|skipped)", p.stdout.splitlines()[-1])}
    return {
        "counts": counts,
        "passed": summary.get("passed", 0),
        "failed": summary.get("failed", 0) + summary.get("error", 0) + summary.get("errors", 0),
        "skipped": summary.get("skipped", 0),
        "returncode": p.returncode,
        "seconds": round(time.perf_counter() - t0, 1),
        "profile": os.environ.get("HYPOTHESIS_PROFILE", "ci"),
        "tail": p.stdout.splitlines()[-1] if p.stdout else p.stderr[-500:],
    }


def table(fz: dict, sk: dict, tests: dict | None) -> str:
    c = (tests or {}).get("counts", {})
    mutated = sum(v for k, v in c.items() if k.startswith("mutated_files"))
    test_fail = tests["failed"] if tests else 0
    rows = [
        ("inputs fuzzed (soak script, random)", f"{fz['examples']:,}", fz["failures"]),
        ("inputs fuzzed (hypothesis, test suite)", f"{c.get('inputs_fuzzed', 0):,}" if tests else "not run", None),
        ("mutated definition files tried", f"{mutated:,}" if tests else "not run", None),
        ("artifact corruptions tried", f"{c.get('corruptions_tried', 0):,}" if tests else "not run", None),
        ("SIGKILLs during install survived", f"{c.get('kills_survived', 0):,}" if tests else "not run", None),
        ("threads parsing one NLU", f"{c.get('threads', 0)}" if tests else "not run", None),
        (f"soak parses ({sk['skills']} skills, LRU cap {sk['cap']})", f"{sk['parses']:,}", sk["failures"]),
    ]
    lines = ["| check | count | failures |", "|---|---:|---:|"]
    for name, n, f in rows:
        lines.append(f"| {name} | {n} | {f if f is not None else (test_fail if tests else '-')} |")
    total = fz["failures"] + sk["failures"] + test_fail
    lines += [
        f"| **total failures** | | **{total}** |",
        "",
        f"Fuzz: worst parse {fz['worst_ms']} ms (bound {int(BOUND_S * 1000)} ms), {fz['refused']:,} refused by the "
        f"length policy (InputError). Soak: RSS {sk['rss_start_mb']} -> {sk['rss_max_mb']} MB max, "
        f"{sk['rss_end_mb']} MB at the end ({sk['rss_growth_second_half_mb']:+} MB over the second half), "
        f"{sk['mean_parse_ms']} ms a parse, {sk['resident_at_end']} skills resident; plot `benchmarks/soak_rss.png`.",
    ]
    if tests:
        lines.append(
            f"Reliability tests: {tests['passed']} passed, {tests['failed']} failed in {tests['seconds']} s "
            f"(hypothesis profile `{tests['profile']}`)."
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.fuzz_soak", description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="model folder (default: the embedded model)")
    ap.add_argument("--examples", type=int, default=100_000, help="fuzz inputs (default 100000)")
    ap.add_argument("--parses", type=int, default=100_000, help="soak parses (default 100000)")
    ap.add_argument("--skills", type=int, default=200, help="skill copies installed for the soak (default 200)")
    ap.add_argument("--cap", type=int, default=32, help="LRU cap of resident skills (default 32)")
    ap.add_argument("--no-tests", action="store_true", help="skip the pytest run of tests/test_reliability_*.py")
    ap.add_argument("--out", type=Path, default=RESULTS, help=f"results JSON (default {RESULTS.relative_to(ROOT)})")
    ap.add_argument("--png", type=Path, default=PNG, help=f"RSS plot (default {PNG.relative_to(ROOT)})")
    args = ap.parse_args(argv)
    if not (args.model / "base").is_dir():
        ap.error(f"{args.model} is not a model folder (no base/ inside)")

    import edge_nlu

    with tempfile.TemporaryDirectory(prefix="edge-nlu-fuzz-") as home:
        nlu = edge_nlu.load(args.model, home=home)
        print(f"fuzz: {args.examples:,} inputs ...", flush=True)
        fz = fuzz(nlu, args.examples)
    print(json.dumps({k: v for k, v in fz.items()}), flush=True)
    print(f"soak: {args.skills} skills, cap {args.cap}, {args.parses:,} parses ...", flush=True)
    sk = soak(args.model, args.skills, args.cap, args.parses)
    print(json.dumps({k: v for k, v in sk.items() if k != "series"}), flush=True)
    plot(sk["series"], args.png, f"RSS over {sk['parses']:,} parses, {sk['skills']} skills, LRU cap {sk['cap']}")
    tests = None
    if not args.no_tests:
        print("reliability tests ...", flush=True)
        tests = run_tests()
        print(json.dumps(tests), flush=True)
    failures = fz["failures"] + sk["failures"] + (tests["failed"] if tests else 0)
    rec = {
        "section": "reliability",
        "model": str(args.model),
        "fuzz": fz,
        "soak": sk,
        "tests": tests,
        "failures": failures,
        "png": str(args.png.relative_to(ROOT)) if args.png.is_relative_to(ROOT) else str(args.png),
        "table_markdown": table(fz, sk, tests),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(rec, indent=1, ensure_ascii=True) + "\n")
    print(rec["table_markdown"])
    print(f"wrote {args.out} and {args.png}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
