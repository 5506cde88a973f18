"""One command from data to artifacts: ``python -m export.build --config export/configs/default.json --out DIR``.

Stages (each timed, with peak RSS, in ``build_report.json``): vocabulary → embedding init (SVD of the teacher's
table) → corpus and skills → teacher soft labels (when ``--teacher`` names a fine-tuned teacher) → student
training → ONNX export → int8 → calibration (per-skill temperature, routing threshold) → int8 guard → artifacts.
Deterministic for a fixed config and seed.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import torch

from edge_nlu.definitions.jsonl import definition_from_utterances
from edge_nlu.errors import EdgeNLUError
from edge_nlu.runtime.artifacts import write_base_manifest
from export.corpus import load_corpus, load_tokenizer
from export.onnx_export import export_encoder
from export.skill_compiler import choose_patch, patch_init, write_skill_file
from export.student import SkillLabels, Student, make_examples, train_student
from export.teacher import intent_key, load_teacher, teacher_dir, teacher_logits
from export.vocab import build_vocab
from quantize.int8 import quantize_encoder, quantize_rows

log = logging.getLogger("export.build")

DEFAULTS = {
    "vocab_size": 16000,
    "emb_dim": 128,
    "hidden": 128,
    "layers": 1,
    "encoder": "lstm",
    "max_len": 64,
    "seed": 0,
    "student": {
        "epochs": 12,
        "batch_size": 32,
        "lr": 2e-3,
        "emb_lr": 1e-3,
        "neg_weight": 0.1,
        "alpha": 0.5,
        "temperature": 2.0,
        "route_weight": 0.0,
    },
    "negatives": 2000,
    "enabled": None,
    "guard_points": 0.3,
}


def effective_config(cfg: dict) -> dict:
    """``cfg`` over ``DEFAULTS`` (the student's keys merged one level down): what a build records and runs."""
    return {**DEFAULTS, **cfg, "student": {**DEFAULTS["student"], **cfg.get("student", {})}}


def joint_weights(cfg: dict, corpus) -> dict[str, float]:
    """skill -> the joint decoding weight its data set gets in ``cfg["joint_weights"]`` ({data set: W})."""
    from edge_nlu.runtime.skill import is_weight

    given = cfg.get("joint_weights") or {}
    unknown = sorted(set(given) - set(cfg["sets"]))
    if unknown:
        raise SystemExit(
            f"joint_weights names data sets this build does not train on (it has no skills of them): {unknown}"
        )
    out = {}
    for name, w in given.items():
        if not is_weight(w):
            raise SystemExit(f"joint_weights[{name!r}] must be a number >= 0, not {w!r}")
        out.update({u.skill: float(w) for u in corpus.train_by_set.get(name, []) if u.skill})
    return out


def _rss_mb() -> float:
    """Resident memory now (not the high-water mark), from /proc; 0 where there is none."""
    try:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


class Stages:
    """Times each stage and records memory so the build report says where time and memory went.

    ``peak_rss_mb`` is the process's high-water mark so far (it never goes down: the first stage's includes the
    imports), ``rss_mb`` the resident memory when the stage ended; a stage's own peak is where the first one rises."""

    def __init__(self) -> None:
        self.report: dict[str, dict] = {}

    @contextmanager
    def __call__(self, name: str):
        log.info("stage %s ...", name)
        t0 = time.time()
        yield
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        self.report[name] = {
            "seconds": round(time.time() - t0, 1),
            "peak_rss_mb": round(rss, 1),
            "rss_mb": round(_rss_mb(), 1),
        }
        log.info("stage %s done in %.1f s (peak RSS %.0f MB)", name, time.time() - t0, rss)


def teacher_embeddings() -> np.ndarray:
    from safetensors.numpy import load_file

    w = load_file(str(teacher_dir() / "model.safetensors"))
    key = next(k for k in w if k.endswith("word_embeddings.weight"))
    return w[key].astype(np.float32)


def svd_init(teacher_emb: np.ndarray, tmap: list[int], dim: int) -> tuple[np.ndarray, np.ndarray]:
    """Project the kept teacher rows onto their top ``dim`` singular directions; returns (table, projection)."""
    x = teacher_emb[tmap]
    _, _, vt = np.linalg.svd(x - x.mean(0), full_matrices=False)
    proj = vt[:dim].T.astype(np.float32)
    table = x @ proj
    scale = 0.5 / table.std()
    return (table * scale).astype(np.float32), (proj * scale).astype(np.float32)


def soft_targets(examples, rows, skills: list[SkillLabels], teacher_out: Path, temperature: float) -> None:
    """Attach the teacher's distributions, restricted to each skill (mass outside a skill → its NONE)."""
    model, labels = load_teacher(teacher_out)
    keep = [u for u in rows if (u.skill is None or u.skill in {s.name for s in skills})]
    li, lt = teacher_logits(model, labels, keep)
    gi = {k: i for i, k in enumerate(labels["intents"])}
    gt = {k: i for i, k in enumerate(labels["tags"])}
    p = torch.softmax(torch.tensor(li) / temperature, -1).numpy()
    for e, pi, ti in zip(examples, p, lt):
        e.soft_intent = {}
        for s in skills:
            cols = [gi.get(intent_key(s.name, i), -1) for i in s.intents[:-1]]
            d = np.array([pi[c] if c >= 0 else 0.0 for c in cols] + [0.0], dtype=np.float32)
            d[-1] = max(0.0, 1.0 - d.sum())
            e.soft_intent[s.name] = d / d.sum()
        if e.skill is not None:
            lab = next(s for s in skills if s.name == e.skill)
            cols = [gt.get(t, 0) for t in lab.tags]
            z = torch.tensor(ti[:, cols]) / temperature
            e.soft_tags = torch.softmax(z, -1).numpy()[: len(e.first)]
            if len(e.soft_tags) < len(e.first):  # teacher truncated earlier than the student
                pad = np.zeros((len(e.first) - len(e.soft_tags), len(cols)), np.float32)
                pad[:, 0] = 1.0
                e.soft_tags = np.concatenate([e.soft_tags, pad])
    del model


def build(cfg: dict, out: Path, teacher: Path | None = None) -> dict:
    """Build a base and its skills into ``out``.

    The build runs in ``<out>.partial`` and replaces ``out`` only when it succeeded (int8 guard included), so a
    failed or interrupted build never leaves ``out`` half-written; a failed one stays in ``<out>.partial``."""
    cfg = effective_config(cfg)
    for key in ("route_kd_only", "route_xset"):  # else a different model, silently
        if cfg["student"].get(key) and teacher is None:
            raise SystemExit(f"this config distils routing from the teacher (student.{key}): pass --teacher DIR")
    if teacher is not None:
        missing = [f for f in ("model.pt", "labels.json") if not (teacher / f).is_file()]
        if missing:
            raise SystemExit(
                f"{teacher} is not a fine-tuned teacher (no {', '.join(missing)}): run python -m export.teacher first"
            )
    unknown = sorted(set(cfg["student"].get("word_drop_sets") or []) - set(cfg["sets"]))
    if unknown:
        raise SystemExit(f"student.word_drop_sets names data sets this build does not train on: {unknown}")
    final = _output_folder(out)
    out = final.with_name(final.name + ".partial")
    if out.exists():
        shutil.rmtree(out)
    torch.manual_seed(cfg["seed"])
    np.random.seed(cfg["seed"])
    torch.set_num_threads(int(cfg.get("threads", 1)))
    stage = Stages()
    work = out / "_work"
    base_dir = out / "base"
    for d in (work, base_dir, out / "skills"):
        if d.exists():
            shutil.rmtree(d)
        d.mkdir(parents=True)
    t_start = time.time()

    with stage("vocabulary"):
        tok, tmap = build_vocab(teacher_dir() / "tokenizer.json", cfg["vocab_size"])
        tok.save(str(base_dir / "tokenizer.json"))
        tok = load_tokenizer(base_dir / "tokenizer.json")
        teacher_tok = load_tokenizer(teacher_dir() / "tokenizer.json")
    with stage("embedding_init"):
        temb = teacher_embeddings()
        table, proj = svd_init(temb, tmap, cfg["emb_dim"])
    with stage("corpus"):
        corpus = load_corpus(cfg["sets"], limit_per_skill=cfg.get("limit_per_skill"), seed=cfg["seed"])
        names = corpus.skills()
        defs = {n: definition_from_utterances(n, [u for u in corpus.train if u.skill == n]) for n in names}
        skills = []
        patches = {}
        joint = joint_weights(cfg, corpus)
        for name in names:
            rows = [u for u in corpus.train if u.skill == name]
            lab = SkillLabels.from_rows(name, rows)
            lab.joint_weight = joint.get(name)
            words = choose_patch(rows, defs[name], tok, teacher_tok) if cfg.get("patch", True) else []
            lab.patch = {w: i for i, w in enumerate(words)}
            patches[name] = patch_init(words, teacher_tok, temb, proj)
            skills.append(lab)
        log.info(
            "%d skills, %d train rows, %d patch rows", len(skills), len(corpus.train), sum(len(s.patch) for s in skills)
        )
    model = Student(
        table, skills, cfg["hidden"], cfg["layers"], patches, encoder=cfg["encoder"], max_len=cfg["max_len"]
    )
    by_name = {s.name: s for s in skills}
    examples = make_examples(tok, corpus.train, by_name, model, cfg["max_len"])
    if teacher is not None:
        with stage("teacher_soft_labels"):
            soft_targets(examples, corpus.train, skills, teacher, cfg["student"]["temperature"])
    with stage("student_training"):
        groups: dict[str, list[str]] = {}
        for rows in corpus.train_by_set.values():  # a data set's skills are routed among together
            members = sorted({u.skill for u in rows if u.skill in by_name})
            groups.update({m: members for m in members})
        student = dict(cfg["student"])
        drop_sets = student.pop("word_drop_sets", None)  # word-piece dropout on these data sets' rows only
        if drop_sets is not None:
            rows = [u for d in drop_sets for u in corpus.train_by_set[d]]
            student["word_drop_skills"] = sorted({u.skill for u in rows if u.skill})
        train_rep = train_student(model, examples, seed=cfg["seed"], route_groups=groups, **student)
    n_params = sum(p.numel() for p in model.emb.parameters()) + sum(p.numel() for p in model.encoder.parameters())
    n_params += sum(p.numel() for p in model.intent.parameters()) + sum(p.numel() for p in model.slot.parameters())

    with stage("export_int8"):
        export_encoder(model.encoder, cfg["emb_dim"], work / "encoder_fp32.onnx")
        quantize_encoder(work / "encoder_fp32.onnx", base_dir / "encoder.onnx")
        w = model.emb.weight.detach().numpy()
        q, s = quantize_rows(w[: model.vocab])
        np.save(base_dir / "embeddings.npy", q)
        np.save(base_dir / "scales.npy", s)
        np.save(base_dir / "projection.npy", proj)
        np.save(base_dir / "negatives.npy", np.zeros((0, 4 * cfg["hidden"]), np.float16))  # filled below
        dims = {
            "emb": cfg["emb_dim"],
            "hidden": cfg["hidden"],
            "states": 2 * cfg["hidden"],
            "pooled": 4 * cfg["hidden"],
            "layers": cfg["layers"],
        }
        if cfg["encoder"] != "lstm":
            dims["encoder"] = cfg["encoder"]
        manifest = write_base_manifest(base_dir, dims)
        # negatives: pooled vectors of utterances from every skill, for training new skills' NONE class
        np.save(base_dir / "negatives.npy", base_negatives(base_dir, corpus, cfg))
        manifest = write_base_manifest(base_dir, dims)
        for lab in skills:
            wts = _head_weights(model, lab.name)
            rows = model.emb.weight.detach().numpy()[model.patch_offset[lab.name] :][: len(lab.patch)]
            write_skill_file(out / "skills" / f"{lab.name}.skill", lab, wts, rows, manifest, definition=defs[lab.name])
    config = {"enabled": cfg["enabled"] or names, "invocations": cfg.get("invocations", {})}
    (out / "config.json").write_text(json.dumps(config, indent=1))

    # lexical experts: {"weight": w, "sets": [data sets whose skills get one]} (+ "l2" for the slot CRF)
    experts = {k: cfg[k] for k in ("lexical_expert", "intent_expert") if cfg.get(k)}
    from edge_nlu.runtime.base import Base

    b = Base(base_dir, verify=False) if experts else None

    def expert_skills(ex: dict) -> list:
        """The skills of the expert's data sets, each with its training rows."""
        keep = {u.skill for name in ex.get("sets", list(cfg["sets"])) for u in corpus.dev_by_set.get(name, [])}
        return [
            (lab, [u for u in corpus.train if u.skill == lab.name and u.intent]) for lab in skills if lab.name in keep
        ]

    if "lexical_expert" in experts:
        with stage("lexical_expert"):
            from export.lexical_expert import L2, WEIGHT, add_expert, fit_lexical_crf

            lx = experts["lexical_expert"]
            for lab, rows in expert_skills(lx):
                if len(lab.tags) > 1:
                    expert = fit_lexical_crf(b, rows, lab.tags, l2=lx.get("l2", L2))
                    add_expert(out / "skills" / f"{lab.name}.skill", manifest, expert, lx.get("weight", WEIGHT))
    if "intent_expert" in experts:
        with stage("intent_expert"):
            from export.lexical_expert import INTENT_WEIGHT, add_intent_expert, fit_intent_expert, intent_negatives

            ix = experts["intent_expert"]
            for lab, rows in expert_skills(ix):
                expert = fit_intent_expert(b, rows, intent_negatives(corpus, lab.name), lab.intents)
                add_intent_expert(
                    out / "skills" / f"{lab.name}.skill", manifest, expert, ix.get("weight", INTENT_WEIGHT)
                )
    with stage("calibration"):
        from quantize.guard import apply_calibration, calibrate

        cal = calibrate(out, corpus.dev_by_set, cfg.get("oos_recall_target", 0.6))
        apply_calibration(out, cal)
    with stage("int8_guard"):
        from quantize.guard import guard

        g = guard(out, work / "encoder_fp32.onnx", corpus.dev, cfg["guard_points"])
    with stage("dev_scores"):
        from quantize.guard import dev_scores

        dev = dev_scores(out, corpus.dev_by_set)
        log.info("dev scores: %s", json.dumps(dev))
    report = {
        "config": cfg,
        "stages": stage.report,
        "total_seconds": round(time.time() - t_start, 1),
        "student": train_rep,
        "parameters": n_params,
        "sizes": {
            "base_bytes": sum(p.stat().st_size for p in base_dir.iterdir()),
            "skills_bytes": {p.stem: p.stat().st_size for p in sorted((out / "skills").glob("*.skill"))},
        },
        "calibration": cal,
        "guard": g,
        "dev": dev,  # per data set: skill given, and routed among the set's skills (as edge-nlu eval)
        "teacher": str(teacher) if teacher is not None else None,  # distilled from it, or hard labels only
    }
    (out / "build_report.json").write_text(json.dumps(report, indent=1))
    if not g["passed"]:
        raise SystemExit(f"int8 guard failed: {g}; the build is in {out}, {final} is unchanged")
    _replace(out, final)
    return report


def _output_folder(out: Path) -> Path:
    """The real folder a build replaces (a symlink's target), refused up front where a rename cannot work."""
    final = out.resolve()
    if final == Path.cwd().resolve() or final in Path.cwd().resolve().parents or final.parent == final:
        raise SystemExit(f"--out {out}: the build replaces this folder; name a folder below the current one")
    if final.is_mount():
        raise SystemExit(f"--out {out}: is a mount point, which cannot be replaced; name a folder inside it")
    old = final.with_name(final.name + ".old")
    if old.is_dir() and not final.exists():  # a swap interrupted between its two renames: put the old build back
        old.rename(final)
        log.warning("restored %s from %s (an earlier build was interrupted while replacing it)", final, old)
    return final


def _replace(staging: Path, final: Path) -> None:
    """Swap a finished build in for ``final`` (two renames; the old one is removed only after)."""
    old = final.with_name(final.name + ".old")
    if old.exists():
        shutil.rmtree(old)
    if final.exists():
        final.rename(old)
    staging.rename(final)
    if old.exists():
        shutil.rmtree(old)


def base_negatives(base_dir: Path, corpus, cfg: dict) -> np.ndarray:
    """Pooled vectors of ``cfg["negatives"]`` training utterances drawn with the build's seed: the NONE examples a
    skill compiled later against this base trains on."""
    from edge_nlu.runtime.base import Base

    rng = np.random.default_rng(cfg["seed"])
    pick = rng.choice(len(corpus.train), size=min(cfg["negatives"], len(corpus.train)), replace=False)
    b = Base(base_dir, verify=False)
    neg = [b.run([b.sequence(b.tokenize(corpus.train[i].text))])[1][0] for i in sorted(pick)]
    return np.stack(neg).astype(np.float16)


def recalibrate(cfg: dict, out: Path) -> dict:
    """Redo the calibration stage of a finished build (same dev data, same rule) and update its report."""
    from quantize.guard import apply_calibration, calibrate

    cfg = {**DEFAULTS, **cfg}
    t0 = time.time()
    corpus = load_corpus(cfg["sets"], seed=cfg["seed"])
    cal = calibrate(out, corpus.dev_by_set, cfg.get("oos_recall_target", 0.6))
    apply_calibration(out, cal)
    rp = out / "build_report.json"
    report = json.loads(rp.read_text()) if rp.exists() else {}
    report["calibration"] = cal
    report.setdefault("stages", {})["calibration"] = {"seconds": round(time.time() - t0, 1), "rerun": True}
    rp.write_text(json.dumps(report, indent=1))
    return cal


def _head_weights(model: Student, name: str) -> dict[str, np.ndarray]:
    it, sl = model.intent[name], model.slot[name]
    return {
        "transitions": model.trans[name].detach().numpy().copy(),
        "intent_w": it.weight.detach().numpy().T.copy(),
        "intent_b": it.bias.detach().numpy().copy(),
        "slot_w": sl.weight.detach().numpy().T.copy(),
        "slot_b": sl.bias.detach().numpy().copy(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--config", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--teacher", help="folder of a fine-tuned teacher (python -m export.teacher) to distil from")
    ap.add_argument(
        "--recalibrate",
        action="store_true",
        help="only redo the calibration stage of an existing build in --out (temperatures, threshold)",
    )
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        cfg = json.loads(Path(args.config).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:  # a user mistake: one line, not a traceback
        raise SystemExit(f"export.build: cannot read the config {args.config}: {e}") from None
    if not isinstance(cfg, dict) or not isinstance(cfg.get("sets", {}), dict):
        raise SystemExit(f"export.build: {args.config}: a config is a JSON object whose 'sets' is an object")
    try:
        if args.recalibrate:
            recalibrate(cfg, Path(args.out))
            return
        rep = build(cfg, Path(args.out), Path(args.teacher) if args.teacher else None)
    except EdgeNLUError as e:  # unknown data set, unreadable data
        raise SystemExit(f"export.build: {e}") from None
    log.info("build done in %.0f s: %s", rep["total_seconds"], json.dumps(rep["guard"]))


if __name__ == "__main__":
    main()
