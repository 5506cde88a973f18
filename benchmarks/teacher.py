"""The fine-tuned teacher as a benchmark system: fp32 and int8 ONNX, same decoding rules as the student.

    python -m benchmarks.teacher --teacher runs/teacher-default [--sets snips,hwu64,clinc150]
    python -m benchmarks.teacher --teacher runs/teacher-atis --sets atis --work runs/teacher-atis-onnx

Exports the teacher (MiniLM-L6 + joint heads) to ONNX, quantizes it dynamically to int8, and evaluates both on the
test splits with the skill given (intent argmax over that skill's intents; BIO-valid Viterbi over that skill's tags),
HWU64 also routed (argmax over the 18 skills' intents, no threshold: the student's routing bar without its rejection),
and CLINC150 routed over its 10 skills with the out-of-scope threshold chosen on dev. Writes
``benchmarks/results/teacher/teacher.json`` (``teacher-<sets>.json`` for other sets than the default build's, e.g. the
ATIS teacher) with a markdown table, and one accuracy row per set, so the cost of distillation is visible.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import onnxruntime as ort

from benchmarks.accuracy import ROUTED, result_name
from benchmarks.report import run_meta
from edge_nlu.data import data_dir
from edge_nlu.definitions.jsonl import read_jsonl
from edge_nlu.definitions.model import Utterance
from edge_nlu.metrics import evaluate
from edge_nlu.runtime.skill import bio_allowed, log_softmax, viterbi
from edge_nlu.words import bio_to_spans, split_words

log = logging.getLogger("benchmarks.teacher")
OUT = Path(__file__).resolve().parent / "results" / "teacher"
DEFAULT_SETS = "snips,hwu64,clinc150"  # the default build's teacher; a teacher of other sets gets its own summary file


def export(teacher: Path, work: Path) -> tuple[Path, Path, dict]:
    """A teacher folder's model as fp32 and int8 ONNX in ``work``: (fp32 path, int8 path, its labels)."""
    from export.teacher import load_teacher

    model, labels = load_teacher(teacher)
    fp32, int8 = export_model(model, work)
    return fp32, int8, labels


def export_model(model, work: Path) -> tuple[Path, Path]:
    """A :class:`export.teacher.JointTeacher` as ``teacher_fp32.onnx`` and its dynamic int8 ``teacher_int8.onnx``."""
    import torch

    from quantize.int8 import quantize_encoder

    work.mkdir(parents=True, exist_ok=True)
    fp32, int8 = work / "teacher_fp32.onnx", work / "teacher_int8.onnx"
    ids = torch.ones((1, 9), dtype=torch.long)
    with torch.no_grad():
        torch.onnx.export(
            model,
            (ids, torch.ones_like(ids)),
            str(fp32),
            input_names=["ids", "mask"],
            output_names=["intent", "slots"],
            opset_version=17,
            dynamo=False,
            dynamic_axes={"ids": {0: "b", 1: "t"}, "mask": {0: "b", 1: "t"}, "slots": {0: "b", 1: "t"}},
        )
    quantize_encoder(fp32, int8)  # dynamic int8, per channel (the teacher has MatMul/Gemm, no LSTM)
    return fp32, int8


class TeacherRuntime:
    """The teacher's ONNX export (fp32 or int8) and its decoding: intent argmax over the candidate skills' intents,
    BIO-valid Viterbi over the chosen skill's tags (``skill_slots``: skill -> its slot names, set by the caller).
    A subclass may replace :meth:`logits` (``benchmarks.minilm`` runs the torch model through the same decoding)."""

    def __init__(self, onnx_path: Path | None, labels: dict) -> None:
        from export.corpus import load_tokenizer
        from export.teacher import teacher_dir

        if onnx_path is not None:
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = 1
            self.sess = ort.InferenceSession(str(onnx_path), opts, providers=["CPUExecutionProvider"])
        self.tok = load_tokenizer(teacher_dir() / "tokenizer.json")
        self.labels = labels
        self.intents = labels["intents"]
        self.tags = labels["tags"]
        self.skill_slots: dict[str, set] = {}

    def logits(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Intent logits [1, intents] and per-piece slot logits [1, T, tags] of one encoded utterance."""
        li, ls = self.sess.run(None, {"ids": ids, "mask": np.ones_like(ids)})
        return li, ls

    def run(self, text: str):
        from export.corpus import encode

        e = encode(self.tok, text, self.labels["max_len"])
        li, ls = self.logits(np.asarray([e.ids], dtype=np.int64))
        return e, li[0], ls[0]

    def parse(self, text: str, skill: str | None, skills: list[str], threshold: float = 0.0) -> Utterance:
        e, li, ls = self.run(text)
        p = np.exp(log_softmax(li))
        cands = [skill] if skill else skills
        cols = [i for i, k in enumerate(self.intents) if k.split(":", 1)[0] in cands]
        j = max(cols, key=lambda c: p[c])
        if not skill and p[j] < threshold:
            return Utterance(text, "oos", [], None)
        sk, intent = self.intents[j].split(":", 1)
        return Utterance(text, intent, self.slots(text, e, ls, sk), sk)

    def slots(self, text, e, ls, skill):
        words = split_words(text)[: len(e.first)]
        keep = [0] + [i for i, t in enumerate(self.tags) if t != "O" and t[2:] in self.skill_slots[skill]]
        tags = [self.tags[i] for i in keep]
        em = log_softmax(ls[e.first][:, keep])
        path = viterbi(em, np.where(bio_allowed(tags), 0.0, -1e9))
        return bio_to_spans(text, words, [tags[k] for k in path])


def evaluate_set(rt: TeacherRuntime, name: str, root: Path, route: bool = False) -> dict:
    test = read_jsonl(root / name / "test.jsonl")
    skills = sorted({u.skill for u in test if u.skill})
    threshold = 0.0
    if name == "clinc150":  # choose the OOS threshold on dev: max in-scope accuracy + OOS recall
        dev = read_jsonl(root / name / "dev.jsonl")
        tops = []
        for u in dev:
            _, li, _ = rt.run(u.text)
            p = np.exp(log_softmax(li))
            cols = [i for i, k in enumerate(rt.intents) if k.split(":", 1)[0] in skills]
            j = max(cols, key=lambda c: p[c])
            tops.append((float(p[j]), u.skill is None, rt.intents[j] == f"{u.skill}:{u.intent}"))
        best = (-1.0, 0.0)
        for c in sorted({t for t, _, _ in tops}):
            ins = [ok and t >= c for t, o, ok in tops if not o]
            oos = [t < c for t, o, _ in tops if o]
            best = max(best, (sum(ins) / len(ins) + sum(oos) / len(oos), c))
        threshold = best[1]
    preds, times = [], []
    for u in test:
        t0 = time.perf_counter()
        given = None if route else u.skill
        preds.append(rt.parse(u.text, given, skills, threshold))
        times.append(time.perf_counter() - t0)
    m = evaluate(test, preds)
    out = {k: round(100 * v, 2) for k, v in m.items() if isinstance(v, float)}  # (None: undefined, e.g. no slots)
    out.update(
        n=len(test),
        p50_ms=round(1000 * statistics.median(times), 3),
        p99_ms=round(1000 * float(np.quantile(times, 0.99)), 3),
        threshold=round(threshold, 4),
    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--teacher", required=True)
    ap.add_argument("--sets", default=DEFAULT_SETS)
    ap.add_argument("--work", default="runs/teacher-onnx")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    fp32, int8, labels = export(Path(args.teacher), Path(args.work))
    root = data_dir()
    train_slots: dict[str, set] = {}
    for name in args.sets.split(","):
        for u in read_jsonl(root / name / "train.jsonl"):
            if u.skill:
                train_slots.setdefault(u.skill, set()).update(s.slot for s in u.slots)
    sets = args.sets.split(",")
    meta = run_meta(module="benchmarks.teacher")  # git commit, command line, date and machine of this run
    runs = [(n, n in ROUTED) for n in sets] + [("hwu64", True)] * ("hwu64" in sets)  # (set, routed)
    results, done = {}, []  # done: (key in results, kind, set, routed)
    for kind, path in (("fp32", fp32), ("int8", int8)):
        rt = TeacherRuntime(path, labels)
        rt.skill_slots = train_slots
        for name, route in runs:
            key = f"{kind}/{name}" + ("-route" if route and name not in ROUTED else "")
            results[key] = evaluate_set(rt, name, root, route)
            done.append((key, kind, name, route))
            log.info("teacher %s: %s", key, results[key])
    sizes = {"fp32_bytes": fp32.stat().st_size, "int8_bytes": int8.stat().st_size}
    rows = [
        "| teacher | set | intent acc | slot F1 | exact | in-scope acc | OOS recall | p50 ms | p99 ms | size |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for key, r in results.items():
        kind, name = key.split("/")  # the set, "-route" when routed though it also has skills
        rows.append(
            f"| MiniLM-L6 {kind} | {name} | {r.get('intent_accuracy', '')} | {r.get('slot_f1', '')} | "
            f"{r.get('exact_match', '')} | {r.get('in_scope_accuracy', '–')} | {r.get('oos_recall', '–')} | "
            f"{r['p50_ms']} | {r['p99_ms']} | {sizes[kind + '_bytes'] / 1e6:.1f} MB |"
        )
    # the same numbers as rows of the accuracy tables, so the cost of distillation is visible beside the student
    acc_dir = OUT.parent / "accuracy"
    acc_dir.mkdir(parents=True, exist_ok=True)
    train_s = (
        json.loads((Path(args.teacher) / "report.json").read_text()).get("seconds")
        if (Path(args.teacher) / "report.json").exists()
        else None
    )
    for key, kind, name, route in done:
        r = results[key]
        mode = "route" if route else "skill_given"
        metrics = {k: v for k, v in r.items() if k not in ("n", "p50_ms", "p99_ms", "threshold")}
        (acc_dir / result_name(f"teacher-{kind}", name, route)).write_text(
            json.dumps(
                {
                    "kind": "accuracy",
                    "system": f"teacher-{kind}",
                    "set": name,
                    "split": "test",
                    "mode": mode,
                    "n": r["n"],
                    "metrics": metrics,
                    "train_seconds": train_s,
                    "parse_ms_per_utterance": r["p50_ms"],
                    **meta,
                },
                indent=1,
            )
        )
    OUT.mkdir(parents=True, exist_ok=True)
    summary = "teacher.json" if args.sets == DEFAULT_SETS else f"teacher-{'-'.join(sets)}.json"
    (OUT / summary).write_text(
        json.dumps(
            {
                "section": "teacher",
                "results": results,
                "sizes": sizes,
                **meta,
                "table_markdown": "\n".join(rows),
            },
            indent=1,
        )
    )
    print("\n".join(rows))


if __name__ == "__main__":
    main()
