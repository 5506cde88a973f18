"""Design comparison (issue 3, item 3): ``python -m benchmarks.design [--skills snips,alarm,...] [--epochs 10]``.

Ways to get a skill, each evaluated on the skill's test rows with the skill given, through the runtime:

- **A** (shipped): the default model's ``.skill`` heads on the shared int8 encoder trained jointly on all 29 skills.
  Build time is the default build's student training time divided by its number of skills (amortized).
- **A'** (new skill, frozen shared encoder): ``compile_skill`` from the skill's train rows, heads only, on the
  shipped base (``build-skill --no-finetune``).
- **C** (new skill, shared encoder + its own slot encoder): ``compile_skill`` with fine-tuning: A' plus a copy of
  the shared encoder fine-tuned with the slot head, shipped whole in the ``.skill`` as int8 ``encoder.onnx``
  (``build-skill --rank 0``; intents stay on the shared encoder).
- **D** (as C, the slot encoder a delta): the fine-tuning trains a rank-``D_RANK`` update of the LSTM's weights
  and the skill ships only that (``encoder_delta.npz``; ``build-skill --rank 8``).
- **B** (per-skill encoder): a fresh BiLSTM encoder (base dimensions) + heads trained on the skill's train rows
  only, over the same shared embedding table (dequantized int8 table, frozen) and the same patch rows as A;
  exported to ONNX, int8-quantized and run by the runtime from a temporary model folder.

Also measured: artifact size per skill, build time, resident memory (RSS delta in a child process of one more
encoder session and of one more loaded ``.skill``), and the projected cost of 29 skills under each design.
Writes ``benchmarks/results/design/design.json`` (``table_markdown`` and a verdict generated from the numbers).
Per-skill results are cached in ``--work`` so an interrupted run resumes. Parse latency is CPU time per
``parse(text, skill=...)`` in this process (one thread), median and p99 over the skill's test rows.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

from benchmarks.report import RESULTS_DIR, pct, run_meta
from edge_nlu.data import data_dir
from edge_nlu.definitions.jsonl import definition_from_utterances, read_jsonl
from edge_nlu.definitions.model import SlotSpan, Utterance
from edge_nlu.metrics import evaluate

log = logging.getLogger("benchmarks.design")

DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "edge_nlu" / "models" / "default"
# five HWU64 skills (49-118 test rows); add "snips" by hand: its 13k-row compiles take over 25 min each here
DEFAULT_SKILLS = "alarm,calendar,iot,play,email"
DESIGNS = ("A", "A'", "C", "D", "B")
# D: C with the slot encoder shipped as a delta of this rank (edge_nlu.runtime.encoder_delta)
D_RANK = 8
N_SESSIONS = 8  # sessions / skills created in the child process to measure the per-instance RSS

_RSS_CHILD = r"""
import os, sys, json
os.environ["OMP_NUM_THREADS"] = "1"
import numpy as np

def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0

kind, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
import onnxruntime as ort
from edge_nlu.runtime.base import Base
from edge_nlu.runtime.skill import Skill

def session():
    o = ort.SessionOptions()
    o.intra_op_num_threads = 1
    o.inter_op_num_threads = 1
    o.log_severity_level = 3
    s = ort.InferenceSession(path, o, providers=["CPUExecutionProvider"])
    s.run(None, {"emb": np.zeros((1, 12, emb), np.float32), "case": np.zeros((1, 12), np.int64)})
    return s

# a skill with its own slot encoder: its session as the runtime makes it, on a base loaded before the measure
B = Base(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[1] == "skill" else None

def skill():
    sk = Skill(path)
    sk.decode(np.zeros((5, sk.slot_w.shape[0]), np.float32))
    sk.intent_probs(np.zeros((1, sk.intent_w.shape[0]), np.float32))
    if B is not None and sk.has_encoder:
        sk.slot_states(B, B.sequence(B.tokenize("set an alarm for seven tomorrow morning please")))
    return sk

if kind == "base":
    r0 = rss()
    b = Base(path)
    b.run([b.sequence(b.tokenize("set an alarm for seven tomorrow morning please"))])
    print(json.dumps({"mb": rss() - r0}))
    sys.exit(0)
emb = int(sys.argv[4]) if len(sys.argv) > 4 else 128
make = session if kind == "onnx" else skill
keep = [make()]  # warm-up: allocators, first-use imports
r0 = rss()
keep += [make() for _ in range(n)]
print(json.dumps({"mb": (rss() - r0) / n}))
"""


def rss_mb(kind: str, path: Path, n: int = N_SESSIONS, emb: int = 128, base: Path | None = None) -> float:
    """RSS (MB) of one more ``kind`` instance ("onnx" session, "skill", or the whole "base"), in a child; ``base``:
    for a skill with its own slot encoder, the base to run it on once (so its session counts, as when parsing)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    out = subprocess.run(
        [sys.executable, "-c", _RSS_CHILD, kind, str(path), str(n), str(emb), *([str(base)] if base else [])],
        capture_output=True,
        text=True,
        env=env,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    return round(json.loads(out.stdout.strip().splitlines()[-1])["mb"], 3)


def skill_rows(skill: str, split: str) -> list[Utterance]:
    dataset = "snips" if skill == "snips" else "hwu64"
    return [u for u in read_jsonl(data_dir() / dataset / f"{split}.jsonl") if u.skill == skill and u.intent]


def parse_eval(nlu, name: str, gold: list[Utterance]) -> dict:
    texts = [u.text for u in gold]
    for t in texts[:20]:  # warm-up: sessions, caches
        nlu.parse(t, skill=name)
    results, cpu = [], []
    for t in texts:
        t0 = time.thread_time_ns()
        results.append(nlu.parse(t, skill=name))
        cpu.append((time.thread_time_ns() - t0) / 1e6)
    pred = []
    for t, r in zip(texts, results, strict=True):
        if r.out_of_scope or r.intent is None:
            pred.append(Utterance(text=t, intent="oos", slots=[], skill=None))
        else:
            slots = [SlotSpan(x.slot, x.start, x.end, t[x.start : x.end]) for x in r.slots]
            pred.append(Utterance(text=t, intent=r.intent, slots=slots, skill=name))
    m = evaluate(gold, pred)
    return {
        "n": m["n"],
        "intent_accuracy": pct(m["intent_accuracy"]),
        "slot_f1": pct(m["slot_f1"]),
        "exact_match": pct(m["exact_match"]),
        "p50_ms": round(float(np.percentile(cpu, 50)), 3),
        "p99_ms": round(float(np.percentile(cpu, 99)), 3),
    }


# -- design A and A' --------------------------------------------------------------------------------------------
def design_a(model: Path, skill: str, gold: list[Utterance], amortized_s: float) -> dict:
    import edge_nlu.runtime.nlu as nlu_mod

    path = model / "skills" / f"{skill}.skill"
    with tempfile.TemporaryDirectory() as home:
        nlu = nlu_mod.load(model, home=home)
        rec = parse_eval(nlu, skill, gold)
    rec.update(
        bytes=path.stat().st_size,
        build_seconds=round(amortized_s, 1),
        build_note="amortized: default build student training / number of skills",
        rss_mb=rss_mb("skill", path),
    )
    return rec


def design_a_new(
    model: Path, skill: str, train: list[Utterance], gold: list[Utterance], finetune: bool = False, rank: int = 0
) -> dict:
    """A' (``finetune`` False), C (``rank`` 0) or D: a skill compiled on the frozen shipped base, parsed by the
    runtime."""
    import edge_nlu.runtime.nlu as nlu_mod
    from export.skill_compiler import compile_skill

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / f"{skill}.skill"
        t0 = time.perf_counter()
        info = compile_skill(definition_from_utterances(skill, train), model, out, finetune=finetune, rank=rank)
        secs = time.perf_counter() - t0
        nlu = nlu_mod.load(model, home=Path(tmp) / "home")
        name = nlu.install_skill(out, name=f"new_{skill}")
        rec = parse_eval(nlu, name, gold)
        rss = rss_mb("skill", out, base=model / "base")  # C: with the session its first parse makes
        rec.update(
            bytes=out.stat().st_size,
            encoder_bytes=info.get("encoder_bytes", 0),
            build_seconds=round(secs, 1),
            patch_rows=info["patch_rows"],
            rss_mb=round(rss, 3),
        )
    return rec


def measure(d: str, model: Path, name: str, train, gold, amortized: float, epochs: int, cfg: dict) -> dict:
    """One design's record for one skill."""
    if d == "A":
        return design_a(model, name, gold, amortized)
    if d == "B":
        return design_b(model, name, train, gold, epochs, cfg)
    return design_a_new(model, name, train, gold, finetune=d in ("C", "D"), rank=D_RANK if d == "D" else 0)


# -- design B ---------------------------------------------------------------------------------------------------
def design_b(model: Path, skill: str, train: list[Utterance], gold: list[Utterance], epochs: int, cfg: dict) -> dict:
    import torch

    import edge_nlu.runtime.nlu as nlu_mod
    from edge_nlu.runtime.artifacts import write_base_manifest
    from edge_nlu.runtime.skill import Skill
    from export.corpus import load_tokenizer
    from export.onnx_export import export_encoder
    from export.skill_compiler import write_skill_file
    from export.student import SkillLabels, Student, make_examples, train_student
    from quantize.int8 import quantize_encoder

    torch.set_num_threads(1)
    base = model / "base"
    manifest = json.loads((base / "manifest.json").read_text())
    dims = manifest["dims"]
    table = np.load(base / "embeddings.npy").astype(np.float32) * np.load(base / "scales.npy")[:, None]
    shipped = Skill(model / "skills" / f"{skill}.skill")  # same patch words and rows as design A
    patch_rows = shipped.patch_q.astype(np.float32) * shipped.patch_s[:, None]
    tok = load_tokenizer(base / "tokenizer.json")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        lab = SkillLabels.from_rows(skill, train)
        lab.patch = dict(shipped.patch)
        torch.manual_seed(cfg.get("seed", 0))
        st = Student(table, [lab], dims["hidden"], dims["layers"], {skill: patch_rows})
        examples = make_examples(tok, train, {skill: lab}, st, cfg.get("max_len", 64))
        sc = {**cfg["student"], "epochs": epochs, "emb_lr": 0.0}
        sc.pop("temperature", None)
        rep = train_student(st, examples, seed=cfg.get("seed", 0), crf=True, progress=f"B/{skill}", **sc)
        mdir = tmp / "model"
        shutil.copytree(base, mdir / "base")
        export_encoder(st.encoder, dims["emb"], tmp / "encoder_fp32.onnx")
        quantize_encoder(tmp / "encoder_fp32.onnx", mdir / "base" / "encoder.onnx")
        new_manifest = write_base_manifest(mdir / "base", dims, {"config": f"design-B-{skill}"})
        weights = {
            "transitions": st.trans[skill].detach().numpy().copy(),
            "intent_w": st.intent[skill].weight.detach().numpy().T.copy(),
            "intent_b": st.intent[skill].bias.detach().numpy().copy(),
            "slot_w": st.slot[skill].weight.detach().numpy().T.copy(),
            "slot_b": st.slot[skill].bias.detach().numpy().copy(),
        }
        rows = st.emb.weight.detach().numpy()[st.patch_offset[skill] :][: len(lab.patch)]
        sk_path = mdir / "skills" / f"{skill}.skill"
        write_skill_file(sk_path, lab, weights, rows, new_manifest, definition_from_utterances(skill, train))
        secs = time.perf_counter() - t0
        (mdir / "config.json").write_text(json.dumps({"enabled": [skill]}))
        enc = mdir / "base" / "encoder.onnx"
        nlu = nlu_mod.load(mdir, home=tmp / "home")
        rec = parse_eval(nlu, skill, gold)
        session_mb = rss_mb("onnx", enc, emb=dims["emb"])
        skill_mb = rss_mb("skill", sk_path)
        rec.update(
            bytes=enc.stat().st_size + sk_path.stat().st_size,
            encoder_bytes=enc.stat().st_size,
            skill_bytes=sk_path.stat().st_size,
            build_seconds=round(secs, 1),
            train_seconds=rep["seconds"],
            train_steps=rep["steps"],
            session_rss_mb=session_mb,
            skill_rss_mb=skill_mb,
            rss_mb=round(session_mb + skill_mb, 3),
        )
    return rec


# -- report -----------------------------------------------------------------------------------------------------
def _mean(xs: list[float | None]) -> float:
    xs = [x for x in xs if x is not None]  # None: a score undefined for that skill (no slots)
    return round(float(np.mean(xs)), 2) if xs else 0.0


def _f2(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}"


def summarize(per_skill: dict[str, dict], n_skills: int, base_bytes: int, enc_bytes: int, base_rss: float) -> dict:
    s = {}
    for d in DESIGNS:
        rows = [r[d] for r in per_skill.values()]
        s[d] = {k: _mean([r[k] for r in rows]) for k in ("intent_accuracy", "slot_f1", "exact_match")}
        s[d]["kb"] = round(_mean([r["bytes"] for r in rows]) / 1024, 1)
        s[d]["build_seconds"] = round(_mean([r["build_seconds"] for r in rows]), 1)
        s[d]["rss_mb"] = round(float(np.mean([r["rss_mb"] for r in rows])), 3)
        s[d]["p50_ms"] = round(float(np.median([r["p50_ms"] for r in rows])), 3)
    # approximate 95% band of a difference of two macro means (binomial per skill, unpaired: conservative)
    k = max(1, len(per_skill))
    s["noise95"] = {}
    for key in ("intent_accuracy", "slot_f1", "exact_match"):
        var = 0.0
        for r in per_skill.values():
            for d in ("A", "B"):
                if r[d][key] is None:
                    continue
                q = r[d][key] / 100.0
                var += q * (1 - q) / max(1, r[d]["n"])
        s["noise95"][key] = round(100.0 * 1.96 * var**0.5 / k, 2)
    # projected cost of n_skills skills: A shares one base; B shares the embeddings/tokenizer, one encoder per skill
    a_kb, b_kb = s["A"]["kb"], s["B"]["kb"]
    shared_kb = (base_bytes - enc_bytes) / 1024
    s["projection"] = {
        "skills": n_skills,
        "A_disk_mb": round((base_bytes / 1024 + n_skills * a_kb) / 1024, 2),
        "A_new_disk_mb": round((base_bytes / 1024 + n_skills * s["A'"]["kb"]) / 1024, 2),
        "C_disk_mb": round((base_bytes / 1024 + n_skills * s["C"]["kb"]) / 1024, 2),
        "D_disk_mb": round((base_bytes / 1024 + n_skills * s["D"]["kb"]) / 1024, 2),
        "B_disk_mb": round((shared_kb + n_skills * b_kb) / 1024, 2),
        "A_rss_mb": round(base_rss + n_skills * s["A"]["rss_mb"], 1),
        "A_new_rss_mb": round(base_rss + n_skills * s["A'"]["rss_mb"], 1),
        "C_rss_mb": round(base_rss + n_skills * s["C"]["rss_mb"], 1),
        "D_rss_mb": round(base_rss + n_skills * s["D"]["rss_mb"], 1),
        "B_rss_mb": round(base_rss + n_skills * s["B"]["rss_mb"], 1),
        "A_build_seconds": round(n_skills * s["A"]["build_seconds"], 0),
        "A_new_build_seconds": round(n_skills * s["A'"]["build_seconds"], 0),
        "C_build_seconds": round(n_skills * s["C"]["build_seconds"], 0),
        "D_build_seconds": round(n_skills * s["D"]["build_seconds"], 0),
        "B_build_seconds": round(n_skills * s["B"]["build_seconds"], 0),
        "note": "base RSS (tokenizer, mmap'd int8 embeddings, one encoder session) counted once in both designs; "
        "B adds one encoder session per skill, A one .skill each, C both (its .skill holds its encoder); disk: B "
        "keeps the shared embeddings/tokenizer",
    }
    return s


def verdict(s: dict) -> str:
    """Two or three sentences generated from the measured means (no hand-written conclusion)."""
    a, an, b, p = s["A"], s["A'"], s["B"], s["projection"]

    noise = s["noise95"]

    def cmp(x: float, y: float, key: str, what: str) -> str:
        d = x - y
        if abs(d) < max(0.5, noise[key]):  # inside the sampling noise of these test sets
            return f"on par in {what} ({x:.2f} vs {y:.2f}, within ±{noise[key]:.1f})"
        return f"{abs(d):.2f} points {'better' if d > 0 else 'worse'} in {what} ({x:.2f} vs {y:.2f})"

    ia = cmp(a["intent_accuracy"], b["intent_accuracy"], "intent_accuracy", "mean intent accuracy")
    sf = cmp(a["slot_f1"], b["slot_f1"], "slot_f1", "slot F1")
    em = cmp(a["exact_match"], b["exact_match"], "exact_match", "exact match")
    em_new = cmp(an["exact_match"], b["exact_match"], "exact_match", "exact match")
    first = (
        f"Against per-skill encoders (B), the shipped shared encoder (A) is {ia}, {sf} and {em}; "
        f"a new skill compiled on the frozen shared encoder (A') is {em_new} against B."
    )
    disk_x = b["kb"] / max(a["kb"], 1e-9)
    rss = f"{p['A_rss_mb']:.0f} vs {p['B_rss_mb']:.0f} MB resident"
    disk = f"{p['A_disk_mb']:.1f} vs {p['B_disk_mb']:.1f} MB on disk"
    build = f"{b['build_seconds']:.0f} s per skill for B vs {an['build_seconds']:.0f} s for A'"
    second = (
        f"Per skill B ships {disk_x:.1f}x the bytes of A ({b['kb']:.0f} vs {a['kb']:.0f} KB) and keeps "
        f"{b['rss_mb']:.2f} vs {a['rss_mb']:.3f} MB resident; for {p['skills']} skills that is {disk} and {rss}, "
        f"and building takes {build} (A: {a['build_seconds']:.0f} s amortized over the joint build)."
    )
    gap = a["exact_match"] - b["exact_match"]
    cheaper = p["A_disk_mb"] <= p["B_disk_mb"] and p["A_rss_mb"] <= p["B_rss_mb"]
    if gap >= -max(0.5, noise["exact_match"]) and cheaper:
        third = (
            "On these numbers the shared encoder is as accurate within the test sets' noise and much cheaper: "
            "shipping it was right."
        )
    elif cheaper:
        third = (
            f"B buys {-gap:.2f} exact-match points with {disk_x:.1f}x the bytes per skill: the shared design trades "
            "that accuracy for footprint."
        )
    else:
        third = "On these numbers the shared design is not cheaper, so the choice should be revisited."
    c = s["C"]
    fourth = (
        f"A new skill that fine-tunes its own copy of the encoder for its slots (C) is "
        f"{cmp(c['slot_f1'], an['slot_f1'], 'slot_f1', 'slot F1')} and "
        f"{cmp(c['exact_match'], an['exact_match'], 'exact_match', 'exact match')} against heads only (A'), "
        f"for {c['kb']:.0f} vs {an['kb']:.0f} KB, {c['rss_mb']:.2f} vs {an['rss_mb']:.3f} MB resident per skill and "
        f"{c['p50_ms']:.2f} vs {an['p50_ms']:.2f} ms a parse (median of the skills' p50 CPU time)."
    )
    dd = s["D"]
    fifth = (
        f"Shipped as a rank-{D_RANK} delta of the base's weights (D), that slot encoder is "
        f"{cmp(dd['slot_f1'], c['slot_f1'], 'slot_f1', 'slot F1')} against the whole copy (C), at {dd['kb']:.0f} vs "
        f"{c['kb']:.0f} KB and {dd['rss_mb']:.2f} vs {c['rss_mb']:.2f} MB resident per skill."
    )
    return " ".join([first, second, third, fourth, fifth])


def table_markdown(per_skill: dict[str, dict], s: dict) -> str:
    head = "| skill | design | n | intent acc | slot F1 | exact | size KB | build s | RSS MB | parse p50 / p99 ms |"
    lines = [head, "|" + "---|" * 10]
    for name, r in per_skill.items():
        for d in DESIGNS:
            x = r[d]
            lines.append(
                f"| {name} | {d} | {x['n']} | {_f2(x['intent_accuracy'])} | {_f2(x['slot_f1'])} | "
                f"{_f2(x['exact_match'])} | {x['bytes'] / 1024:.1f} | {x['build_seconds']:.1f} | {x['rss_mb']:.3f} | "
                f"{x['p50_ms']:.2f} / {x['p99_ms']:.2f} |"
            )
    for d in DESIGNS:
        x = s[d]
        lines.append(
            f"| **mean** | {d} | | {x['intent_accuracy']:.2f} | {x['slot_f1']:.2f} | {x['exact_match']:.2f} | "
            f"{x['kb']:.1f} | {x['build_seconds']:.1f} | {x['rss_mb']:.3f} | {x['p50_ms']:.2f} (median) |"
        )
    p = s["projection"]
    lines += [
        "",
        f"| {p['skills']} skills | disk MB | resident MB | build s |",
        "|---|---|---|---|",
        f"| A (shared encoder, joint build) | {p['A_disk_mb']:.2f} | {p['A_rss_mb']:.1f} | "
        f"{p['A_build_seconds']:.0f} |",
        f"| A' (shared encoder, heads-only compile) | {p['A_new_disk_mb']:.2f} | {p['A_new_rss_mb']:.1f} | "
        f"{p['A_new_build_seconds']:.0f} |",
        f"| C (shared encoder, compile with its own fine-tuned slot encoder) | {p['C_disk_mb']:.2f} | "
        f"{p['C_rss_mb']:.1f} | {p['C_build_seconds']:.0f} |",
        f"| D (as C, the slot encoder a rank-{D_RANK} delta) | {p['D_disk_mb']:.2f} | {p['D_rss_mb']:.1f} | "
        f"{p['D_build_seconds']:.0f} |",
        f"| B (per-skill encoder) | {p['B_disk_mb']:.2f} | {p['B_rss_mb']:.1f} | {p['B_build_seconds']:.0f} |",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--skills", default=DEFAULT_SKILLS)
    ap.add_argument("--epochs", type=int, help="design B epochs (default: the default build's student epochs)")
    ap.add_argument("--model", default=str(DEFAULT_MODEL))
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "edge_nlu_design"), help="per-skill cache")
    ap.add_argument("--fresh", action="store_true", help="ignore cached per-skill results")
    ap.add_argument("--out", default=str(RESULTS_DIR / "design" / "design.json"))
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    import torch

    torch.set_num_threads(1)
    model = Path(args.model)
    report = json.loads((model / "build_report.json").read_text())
    cfg = report["config"]
    n_skills = len(report["student"]["skills"])
    amortized = report["stages"]["student_training"]["seconds"] / n_skills
    epochs = args.epochs or cfg["student"]["epochs"]
    names = [s.strip() for s in args.skills.split(",") if s.strip()]
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    per_skill: dict[str, dict] = {}
    # small skills first, so partial results come early
    for name in sorted(names, key=lambda n: len(skill_rows(n, "train"))):
        cache = work / f"{name}__e{epochs}.json"
        rec = json.loads(cache.read_text()) if cache.exists() and not args.fresh else {}
        train, gold = skill_rows(name, "train"), skill_rows(name, "test")
        rec["n_train"] = len(train)
        log.info("%s: %d train, %d test rows; measured already: %s", name, len(train), len(gold), sorted(rec))
        for d in DESIGNS:
            if d not in rec:
                rec[d] = measure(d, model, name, train, gold, amortized, epochs, cfg)
                log.info("%s %s: %s", name, d, rec[d])
                cache.write_text(json.dumps(rec, indent=1))
        per_skill[name] = rec
    per_skill = {n: per_skill[n] for n in names}
    base = model / "base"
    base_bytes = sum(p.stat().st_size for p in base.iterdir())
    enc_bytes = (base / "encoder.onnx").stat().st_size
    base_rss = rss_mb("base", base, 1)
    s = summarize(per_skill, n_skills, base_bytes, enc_bytes, base_rss)
    from edge_nlu.runtime.skill import Skill

    patch_rows = {n: len(Skill(model / "skills" / f"{n}.skill").patch) for n in names}
    rec = {
        "section": "design",
        "skills": names,
        "epochs_B": epochs,
        "default_build": {
            "skills": n_skills,
            "student_training_seconds": report["stages"]["student_training"]["seconds"],
            "epochs": cfg["student"]["epochs"],
            "base_bytes": base_bytes,
            "encoder_bytes": enc_bytes,
            "base_rss_mb": base_rss,
        },
        "method": {
            "eval": "test rows of the skill (snips: data/snips/test.jsonl; others: data/hwu64/test.jsonl filtered by "
            "skill), skill given, through edge_nlu.runtime (int8 encoder), scored by edge_nlu.metrics.evaluate",
            "A": "shipped .skill on the shared encoder; build s = default build student training / skills (amortized)",
            "A'": "compile_skill from the skill's train rows on the frozen shipped base (heads only)",
            "C": "compile_skill with rank 0: A' plus a copy of the shared encoder fine-tuned with the slot "
            "head (export.skill_encoder), shipped whole in the .skill; RSS = the .skill after one slot_states call "
            "(its encoder session made as the runtime makes it)",
            "D": f"as C with rank {D_RANK}: only a rank-{D_RANK} update of the LSTM weights is trained and shipped "
            "(encoder_delta.npz), the runtime adds it to the base's int8 weights; RSS as for C",
            "B": "fresh BiLSTM (base dims) + heads + CRF on the skill's train rows only, shared int8 embeddings "
            "dequantized and frozen (emb_lr=0), same patch rows as A, no negatives (no other skill in its training), "
            "same student hyper-parameters as the default build, no teacher (the default build used none either), "
            "ONNX export + dynamic int8; build s = training + export + int8 + skill file",
            "patch_rows_shipped": patch_rows,
            "rss": f"RSS delta per instance over {N_SESSIONS} instances in a child process (one warm-up first): "
            "B = one encoder session + its .skill; A/A' = one .skill",
        },
        "per_skill": per_skill,
        "summary": s,
        "verdict": verdict(s),
    }
    rec["table_markdown"] = table_markdown(per_skill, s)
    rec.update(run_meta(argv, "benchmarks.design"))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rec, indent=1) + "\n")
    print(rec["table_markdown"])
    print()
    print(rec["verdict"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
