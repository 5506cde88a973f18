"""Merge builds of one config at different seeds into one model that parses with the members' mean:
``python -m export.ensemble --member A --member B --member C --out D``.

Why: seeds of one config move test scores by as much as the margins the bars are met or missed by (ATIS test intent
accuracy 96.08-96.86 over five seeds), and averaging members is the textbook cure for that variance. The merged model
is an ordinary base and skills, so the device runtime is unchanged:

- embeddings: the members' tables side by side (row ``i`` is member 0's row, then member 1's, ...), int8 again with
  one scale per row;
- encoder: one graph that splits its input into the members' embeddings, runs each member's int8 encoder on its part
  and concatenates their token states and pooled vectors;
- each skill's heads: the members' matrices stacked and divided by K, so intent logits and slot emissions are the
  members' means (a linear head over the concatenated states), and the CRF transitions are their mean;
- calibration (temperatures, routing threshold), the base's negatives, the int8 guard and the dev scores are redone
  on the merged model as a build does them, from the first member's build config and the data it names.

Members must share a tokenizer and skills (same vocabulary, label maps and patch words): the same config at another
``seed``. Skills with lexical experts or their own slot encoders are refused (their parts are not linear in the
encoder's states). A merged base cannot be the base of a fine-tuned compiled skill (``build-skill --no-finetune``
works): its encoder is K graphs.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import time
from pathlib import Path

import numpy as np
import onnx
from onnx import compose, helper

from edge_nlu.errors import EdgeNLUError
from edge_nlu.runtime.artifacts import npz_arrays, npz_bytes, read_skill, verify_base, write_base_manifest, write_skill
from export.corpus import load_corpus
from quantize.int8 import quantize_rows

log = logging.getLogger(__name__)

NOT_LINEAR = ("lex_w", "intent_lex_w")  # expert members: scores not computed from the encoder's states


def merge_graphs(graphs: list[onnx.ModelProto], emb_dims: list[int]) -> onnx.ModelProto:
    """One encoder graph from K member graphs (inputs ``emb``, ``case``; outputs ``states``, ``pooled``): ``emb``
    [B, T, sum(emb_dims)] is split into the members' inputs, ``case`` goes to every member, and the members' outputs
    are concatenated (states on axis 2, pooled on axis 1)."""
    opsets = {(o.domain, o.version) for g in graphs for o in g.opset_import}
    if len({d for d, _ in opsets}) != len(opsets):
        raise ValueError(f"members use different opset versions: {sorted(opsets)}")
    nodes, inits, infos = [], [], []
    split_out = [f"m{k}_emb" for k in range(len(graphs))]
    inits.append(helper.make_tensor("ensemble_split", onnx.TensorProto.INT64, [len(emb_dims)], emb_dims))
    nodes.append(helper.make_node("Split", ["emb", "ensemble_split"], split_out, axis=2, name="ensemble_split"))
    for k, g in enumerate(graphs):
        names = [i.name for i in g.graph.input]
        outs = [o.name for o in g.graph.output]
        if sorted(names) != ["case", "emb"] or outs != ["states", "pooled"]:
            raise ValueError(f"member {k}: inputs {names}, outputs {outs}; expected emb, case -> states, pooled")
        p = compose.add_prefix(g, prefix=f"m{k}_")
        nodes.append(helper.make_node("Identity", ["case"], [f"m{k}_case"], name=f"m{k}_case_in"))
        nodes.extend(p.graph.node)
        inits.extend(p.graph.initializer)
        infos.extend(p.graph.value_info)
    nodes.append(
        helper.make_node("Concat", [f"m{k}_states" for k in range(len(graphs))], ["states"], axis=2, name="states")
    )
    nodes.append(
        helper.make_node("Concat", [f"m{k}_pooled" for k in range(len(graphs))], ["pooled"], axis=1, name="pooled")
    )
    total = sum(emb_dims)
    inputs = [
        helper.make_tensor_value_info("emb", onnx.TensorProto.FLOAT, ["batch", "seq", total]),
        helper.make_tensor_value_info("case", onnx.TensorProto.INT64, ["batch", "seq"]),
    ]
    outputs = [
        helper.make_tensor_value_info("states", onnx.TensorProto.FLOAT, ["batch", "seq", None]),
        helper.make_tensor_value_info("pooled", onnx.TensorProto.FLOAT, ["batch", None]),
    ]
    graph = helper.make_graph(nodes, "edge_nlu_ensemble", inputs, outputs, initializer=inits, value_info=infos)
    model = helper.make_model(graph, opset_imports=list(graphs[0].opset_import), producer_name="edge-nlu ensemble")
    model.ir_version = graphs[0].ir_version
    onnx.checker.check_model(model)
    return model


def _dequantized(q: np.ndarray, s: np.ndarray) -> np.ndarray:
    return q.astype(np.float32) * s.astype(np.float32)[:, None]


def merge_tables(tables: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """int8 rows with one scale per row, side by side, re-quantized with one scale per merged row."""
    return quantize_rows(np.concatenate([_dequantized(q, s) for q, s in tables], axis=1))


def merge_heads(arrays: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """A skill's heads over the concatenated states: matrices stacked / K (the members' mean logits), biases and
    CRF transitions averaged, patch rows side by side."""
    k = len(arrays)
    out: dict[str, np.ndarray] = {}
    for name in ("intent_w", "slot_w"):
        dtype = arrays[0][name].dtype  # float16 in compact skills: kept
        out[name] = (np.concatenate([a[name].astype(np.float32) for a in arrays], axis=0) / k).astype(dtype)
    for name in ("intent_b", "slot_b", "transitions"):
        if name in arrays[0]:
            dtype = arrays[0][name].dtype
            out[name] = np.mean([a[name].astype(np.float32) for a in arrays], axis=0).astype(dtype)
    if len(arrays[0]["patch_q"]):
        out["patch_q"], out["patch_s"] = merge_tables([(a["patch_q"], a["patch_s"]) for a in arrays])
    else:
        out["patch_q"] = np.zeros((0, sum(a["patch_q"].shape[1] for a in arrays)), np.int8)
        out["patch_s"] = np.zeros((0,), np.float32)
    return out


def _same(values: list, what: str) -> None:
    for v in values[1:]:
        if v != values[0]:
            if isinstance(v, dict) and isinstance(values[0], dict):
                keys = sorted(k for k in set(v) | set(values[0]) if v.get(k) != values[0].get(k))
                what = f"{what} ({', '.join(keys)})"
            raise EdgeNLUError(
                f"the members differ in {what}: merge builds of one config and data that differ only in seed"
            )


def merge(members: list[Path], out: Path, data: Path | None = None) -> dict:
    """Write the merged model to ``out`` (built in ``<out>.partial``, then swapped in); returns its report."""
    from export.build import _output_folder, _replace, base_negatives
    from quantize.guard import apply_calibration, calibrate, dev_scores, guard

    if len(members) < 2:
        raise EdgeNLUError("an ensemble needs at least two members")
    t0 = time.time()
    manifests = [verify_base(m / "base") for m in members]
    reports = [json.loads((m / "build_report.json").read_text()) for m in members]
    _same([m["tokenizer_hash"] for m in manifests], "tokenizer")
    _same([m["dims"].get("encoder", "lstm") for m in manifests], "encoder kind")
    if any("members" in m["dims"] for m in manifests):
        raise EdgeNLUError("a member is an ensemble already: merge the builds it was made of")
    skills = [sorted(p.name for p in (m / "skills").glob("*.skill")) for m in members]
    _same(skills, "skills")
    final = _output_folder(out)
    work_out = final.with_name(final.name + ".partial")
    if work_out.exists():
        shutil.rmtree(work_out)
    base = work_out / "base"
    base.mkdir(parents=True)
    (work_out / "skills").mkdir()
    (work_out / "_work").mkdir()

    shutil.copyfile(members[0] / "base" / "tokenizer.json", base / "tokenizer.json")
    tables = [(np.load(m / "base" / "embeddings.npy"), np.load(m / "base" / "scales.npy")) for m in members]
    q, s = merge_tables(tables)
    np.save(base / "embeddings.npy", q)
    np.save(base / "scales.npy", s)
    np.save(base / "projection.npy", np.concatenate([np.load(m / "base" / "projection.npy") for m in members], 1))
    dims = [m["dims"] for m in manifests]
    emb_dims = [d["emb"] for d in dims]
    merged = merge_graphs([onnx.load(str(m / "base" / "encoder.onnx")) for m in members], emb_dims)
    onnx.save(merged, str(base / "encoder.onnx"))
    fp32 = [m / "_work" / "encoder_fp32.onnx" for m in members]
    fp32_merged = None
    if all(p.is_file() for p in fp32):
        fp32_merged = work_out / "_work" / "encoder_fp32.onnx"
        onnx.save(merge_graphs([onnx.load(str(p)) for p in fp32], emb_dims), str(fp32_merged))
    new_dims = {
        "emb": sum(emb_dims),
        "hidden": dims[0]["hidden"],
        "states": sum(d["states"] for d in dims),
        "pooled": sum(d["pooled"] for d in dims),
        "layers": dims[0]["layers"],
        "members": len(members),
        **({"encoder": dims[0]["encoder"]} if "encoder" in dims[0] else {}),
    }
    np.save(base / "negatives.npy", np.zeros((0, new_dims["pooled"]), np.float16))  # filled below
    manifest = write_base_manifest(base, new_dims)

    cfg = reports[0]["config"]
    corpus = load_corpus(cfg["sets"], root=data, limit_per_skill=cfg.get("limit_per_skill"), seed=cfg["seed"])
    np.save(base / "negatives.npy", base_negatives(base, corpus, cfg))
    manifest = write_base_manifest(base, new_dims)

    for name in skills[0]:
        read = [read_skill(m / "skills" / name, mf) for m, mf in zip(members, manifests)]
        mem = [r[1] for r in read]
        for key in ("labels.json", "patch.json", "catalog.json"):
            texts = [json.loads(x[key]) for x in mem]
            if key == "labels.json":
                for t in texts:
                    t.pop("temperature", None)  # each member's own calibration; redone below
            _same(texts, f"{name}'s {key}")
        if any(x.get(o) for x in mem for o in ("encoder.onnx", "encoder_delta.npz")):
            raise EdgeNLUError(f"{name} has its own slot encoder: its slots do not read the merged states")
        arrays = [npz_arrays(x["weights.npz"]) for x in mem]
        if any(k in a for a in arrays for k in NOT_LINEAR):
            raise EdgeNLUError(f"{name} has a lexical expert, which does not average over the encoder's states")
        members_out = dict(mem[0])
        members_out["weights.npz"] = npz_bytes(merge_heads(arrays))
        meta = {k: v for k, v in read[0][0].items() if k not in ("format", "format_version", "files")}
        meta.update(base_id=manifest["base_id"], vocab_hash=manifest["vocab_hash"], dims=manifest["dims"])
        write_skill(work_out / "skills" / name, members_out, meta)
    shutil.copyfile(members[0] / "config.json", work_out / "config.json")

    cal = calibrate(work_out, corpus.dev_by_set, cfg.get("oos_recall_target", 0.6))
    apply_calibration(work_out, cal)
    g = None
    if fp32_merged is not None:
        g = guard(work_out, fp32_merged, corpus.dev, cfg.get("guard_points", 0.3))
    dev = dev_scores(work_out, corpus.dev_by_set)
    report = {
        "ensemble": [str(m) for m in members],
        "config": cfg,
        "members_dev": [r.get("dev") for r in reports],
        "parameters": sum(int(r.get("parameters", 0)) for r in reports),
        "total_seconds": round(time.time() - t0, 1),
        "sizes": {
            "base_bytes": sum(p.stat().st_size for p in base.iterdir()),
            "skills_bytes": {p.stem: p.stat().st_size for p in sorted((work_out / "skills").glob("*.skill"))},
        },
        "calibration": cal,
        "guard": g,
        "dev": dev,
    }
    (work_out / "build_report.json").write_text(json.dumps(report, indent=1))
    if g is not None and not g["passed"]:
        raise SystemExit(f"int8 guard failed: {g}; the merge is in {work_out}, {final} is unchanged")
    _replace(work_out, final)
    log.info("merged %d members into %s in %.0f s; dev %s", len(members), final, report["total_seconds"], dev)
    return report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--member", action="append", required=True, help="a finished build (export.build --out)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--data", help="data root for calibration and dev scores (default: $EDGE_NLU_DATA or ../shared)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        merge([Path(m) for m in args.member], Path(args.out), Path(args.data) if args.data else None)
    except EdgeNLUError as e:
        raise SystemExit(f"export.ensemble: {e}") from None
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
