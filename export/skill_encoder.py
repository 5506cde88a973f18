"""A skill's own slot encoder: a copy of the base's BiLSTM, fine-tuned at compile time on the skill's utterances.

A skill compiled on a frozen base trains only its heads, so what the base's encoder learned about other skills'
words and carrier phrases decides what a few dozen examples can teach. Fine-tuning a copy of the encoder together
with the slot head lets the skill move the states its slots are read from (Snips-2017 protocol, held-out rows,
rule 33 in benchmarks/RESULTS.md). The copy feeds the slot head only: intents stay scored on the base encoder's
pooled vector, so routing compares every skill on the same features, and the fine-tuned encoder ships inside the
``.skill`` as ``encoder.onnx`` (dynamic int8, ~290 KB for the 128-wide base).

``python -m export.skill_encoder --model DIR --skill NAME --set SET`` does the same for a skill trained jointly with a
base and reports its dev scores before and after (for the embedded ``snips`` skill it lost: rule 34 in RESULTS).
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from edge_nlu.runtime.encoder_delta import NAMES
from edge_nlu.runtime.lexical import BUCKETS
from edge_nlu.runtime.skill import bio_allowed
from edge_nlu.words import N_SHAPES
from export.student import Encoder, crf_nll

log = logging.getLogger(__name__)


def _lstm_node(m: onnx.ModelProto) -> tuple[onnx.NodeProto, str] | None:
    """The graph's one (fp32 or int8) LSTM node and the name of its word-shape table (the initializer gathered by
    the "case" input; its name depends on the exporter), or None for a graph of another kind."""
    nodes = [n for n in m.graph.node if n.op_type in ("LSTM", "DynamicQuantizeLSTM")]
    case = [n.input[0] for n in m.graph.node if n.op_type == "Gather" and list(n.input[1:]) == ["case"]]
    if len(nodes) != 1 or len(case) != 1 or case[0] not in {i.name for i in m.graph.initializer}:
        return None
    return nodes[0], case[0]


def _torch_gates(a: np.ndarray, h: int) -> np.ndarray:
    """ONNX gate order (i, o, f, c) along axis 0 -> torch's (i, f, g, o)."""
    return np.concatenate([a[0:h], a[2 * h : 3 * h], a[3 * h : 4 * h], a[h : 2 * h]])


def _onnx_gates(a: np.ndarray, h: int) -> np.ndarray:
    """Torch gate order (i, f, g, o) along axis 0 -> ONNX's (i, o, f, c): the inverse of :func:`_torch_gates`."""
    return np.concatenate([a[0:h], a[3 * h : 4 * h], a[h : 2 * h], a[2 * h : 3 * h]])


def encoder_from_onnx(graph: Path | onnx.ModelProto, emb: int, hidden: int) -> Encoder | None:
    """The torch :class:`Encoder` with the weights of an exported one-layer BiLSTM graph (a file or a loaded
    model), fp32 or dynamic int8 (int8 weights dequantized); None for a graph of another kind (GRU, CNN,
    transformer, stacked LSTM)."""
    m = graph if isinstance(graph, onnx.ModelProto) else onnx.load(str(graph))
    found = _lstm_node(m)
    if found is None:
        return None
    node, case = found
    init = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    ins = list(node.input)
    if node.op_type == "LSTM":
        w, r, b = (init[n] for n in ins[1:4])
    else:  # per-channel int8 weights [D, I, 4H] with scales and zero points [D, 4H]

        def deq(q: str, s: str, z: str) -> np.ndarray:
            x = (init[q].astype(np.float32) - init[z].astype(np.float32)[:, None, :]) * init[s][:, None, :]
            return x.transpose(0, 2, 1)

        w, r, b = deq(ins[1], ins[8], ins[9]), deq(ins[2], ins[10], ins[11]), init[ins[3]]
    if w.shape != (2, 4 * hidden, emb):
        return None
    h = hidden

    def gates(a: np.ndarray) -> torch.Tensor:
        return torch.tensor(_torch_gates(a, h))

    enc = Encoder(emb, hidden, 1, 0.0, "lstm")
    sd = {"case.weight": torch.tensor(init[case])}
    for d, suffix in ((0, ""), (1, "_reverse")):
        sd[f"lstm.weight_ih_l0{suffix}"] = gates(w[d])
        sd[f"lstm.weight_hh_l0{suffix}"] = gates(r[d])
        sd[f"lstm.bias_ih_l0{suffix}"] = gates(b[d][: 4 * h])
        sd[f"lstm.bias_hh_l0{suffix}"] = gates(b[d][4 * h :])
    enc.load_state_dict(sd)
    return enc


def slot_features(kind: str, out: torch.Tensor, table: torch.Tensor, batch: list, first: torch.Tensor, case, msk):
    """Torch twin of :func:`edge_nlu.runtime.skill.slot_features` for a padded batch: "states", each word's first
    piece state [B, N, 2H]; "context", that state, its neighbours' states, its embedding and its shape one-hot
    [B, N, 3*2H + E + shapes]."""
    b, n = first.shape
    ar = torch.arange(b)[:, None]
    f = out[ar, first] * msk[..., None]
    if kind == "states":
        return f
    z = torch.zeros_like(f[:, :1])
    prev = torch.cat([z, f[:, :-1]], 1)
    nxt = torch.cat([f[:, 1:], z], 1) * msk[..., None]
    ids = torch.tensor([[x[0][q] for q in x[2]] + [0] * (n - len(x[2])) for x in batch])
    shape = torch.eye(N_SHAPES)[case[ar, first]]
    return torch.cat([f, prev, nxt, table[ids], shape], -1)


def finetune_slot_encoder(
    encoder: Encoder,
    table: np.ndarray,
    seqs: list[tuple[list[int], list[int], list[int]]],
    tags: list[list[int]],
    lex: list[list[list[int]]],
    weights: dict[str, np.ndarray],
    tag_names: list[str],
    vocab: int,
    epochs: int,
    lr: float,
    word_drop: float,
    l2: float,
    head_lr: float = 1e-3,
    batch_size: int = 16,
    seed: int = 0,
    features: str = "context",
    rank: int = 0,
) -> tuple[dict[str, np.ndarray], dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Train ``encoder`` (in place) and the slot head in ``weights`` (slot_w, slot_b, transitions, lex_w) on the
    slot CRF loss; returns ``weights`` with the new slot head, and the low-rank factors when ``rank`` > 0.
    ``table``: the float embedding rows the runtime reads (shared table dequantized, then the patch rows);
    ``seqs``: (piece ids, word shapes, first piece of each word) per utterance; ``word_drop``: share of pieces
    blanked at the encoder input (the [PAD] row), as in base training, so slots are read from context as well as
    from the word; ``features``: the slot head's input kind; ``rank``: 0 trains every encoder weight, r > 0 keeps
    the LSTM's weight matrices fixed and trains a rank-r update ``up @ down`` of each (plus the biases and the
    word-shape table, in full), which is all a delta skill ships (``{name: (up, down)}``, torch layout)."""
    from torch.func import functional_call

    from export.skill_compiler import lexical_sum, lexical_tensor

    torch.manual_seed(seed)
    rng = random.Random(seed)
    emb = torch.tensor(table)
    k = len(tag_names)
    sw = torch.tensor(weights["slot_w"], requires_grad=True)
    sb = torch.tensor(weights["slot_b"], requires_grad=True)
    trans = torch.tensor(weights["transitions"], requires_grad=True)
    mask_t = torch.tensor(np.where(bio_allowed(tag_names), 0.0, -1e4), dtype=torch.float32)
    use_lex = "lex_w" in weights  # a skill compiled with hashed lexical slot features
    lex_w = torch.zeros((BUCKETS + 1, k))  # the padding row gets no gradient
    if use_lex:
        lex_w[:BUCKETS] = torch.tensor(weights["lex_w"].astype(np.float32))
    lex_w.requires_grad_(True)
    head = [sw, sb, trans] + ([lex_w] if use_lex else [])
    lora: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    if rank > 0:
        for name, p in encoder.named_parameters():
            if name.startswith("lstm.weight_"):
                p.requires_grad_(False)
                # LoRA's initialisation: the update starts at zero, its input side random
                up = torch.zeros((p.shape[0], rank), requires_grad=True)
                down = (torch.randn((rank, p.shape[1])) / p.shape[1] ** 0.5).requires_grad_(True)
                lora[name] = (up, down)
    trained = [p for p in encoder.parameters() if p.requires_grad] + [t for ud in lora.values() for t in ud]
    opt = torch.optim.Adam([{"params": trained, "lr": lr}, {"params": head, "lr": head_lr}])

    def run(x, case, lengths):
        if not lora:
            return encoder(x, case, lengths)
        params = {n: p + lora[n][0] @ lora[n][1] if n in lora else p for n, p in encoder.named_parameters()}
        return functional_call(encoder, params, (x, case, lengths))

    data = [(s[0], s[1], s[2], t, x) for s, t, x in zip(seqs, tags, lex)]
    order = list(range(len(data)))
    encoder.train()
    for ep in range(epochs):
        t0, total, steps = time.perf_counter(), 0.0, 0
        rng.shuffle(order)
        for s in range(0, len(order), batch_size):
            batch = [data[i] for i in order[s : s + batch_size] if data[i][3]]
            if not batch:
                continue
            b, t, n = len(batch), max(len(x[0]) for x in batch), max(len(x[2]) for x in batch)
            ids = torch.zeros((b, t), dtype=torch.long)
            case = torch.zeros((b, t), dtype=torch.long)
            first = torch.zeros((b, n), dtype=torch.long)
            tgt = torch.zeros((b, n), dtype=torch.long)
            msk = torch.zeros((b, n))
            for j, (pid, pc, pf, tg, _) in enumerate(batch):
                # blank shared pieces only: a patch row (id >= vocab) is the skill's own word, always kept
                pid = [pid[0]] + [0 if rng.random() < word_drop and p < vocab else p for p in pid[1:-1]] + [pid[-1]]
                ids[j, : len(pid)] = torch.tensor(pid)
                case[j, : len(pc)] = torch.tensor(pc)
                first[j, : len(pf)] = torch.tensor(pf)
                tgt[j, : len(tg)] = torch.tensor(tg)
                msk[j, : len(tg)] = 1
            out, _ = run(emb[ids], case, torch.tensor([len(x[0]) for x in batch]))
            feats = slot_features(features, out, emb, batch, first, case, msk)
            em = feats @ sw + sb
            loss = l2 * sw.pow(2).sum()
            if use_lex:
                em = em + lexical_sum(lexical_tensor([x[4] for x in batch], n), lex_w)
                loss = loss + l2 * lex_w.pow(2).sum()
            loss = loss + crf_nll(em, tgt, msk, trans + mask_t).sum() / msk.sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total, steps = total + float(loss.detach()), steps + 1
        rate = len(order) / max(time.perf_counter() - t0, 1e-9)
        log.info("slot encoder epoch %d/%d: loss %.3f (%.0f utterances/s)", ep + 1, epochs, total / max(steps, 1), rate)
    encoder.eval()
    out_w = dict(weights)
    out_w.update(slot_w=sw.detach().numpy(), slot_b=sb.detach().numpy(), transitions=trans.detach().numpy())
    if use_lex:
        out_w["lex_w"] = lex_w.detach().numpy()[:BUCKETS].astype(np.float16)
    return out_w, {n: (u.detach().numpy(), d.detach().numpy()) for n, (u, d) in lora.items()}


def fit_slot_encoder(
    base,
    patch_q,
    patch_s,
    seqs,
    tags,
    lex,
    weights: dict,
    tag_names: list[str],
    features: str = "context",
    seed: int = 0,
    rank: int | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, bytes]] | None:
    """(new slot head, {member name: bytes}): a copy of ``base``'s encoder fine-tuned with the slot head in
    ``weights`` under the compiler's settings (``export.skill_compiler.FT_*``, ``HEAD_L2``), shipped as a full int8
    ``encoder.onnx`` (``rank`` 0) or as a rank-``rank`` ``encoder_delta.npz`` of the base's int8 weights (None:
    ``FT_RANK``); None where the base's encoder is not one one-layer BiLSTM (another kind, or an ensemble).
    ``patch_q``/``patch_s``: the skill's int8 patch rows (or None)."""
    from export import skill_compiler as sc

    if base.dims.get("members"):  # an export.ensemble base: K encoder graphs, not one BiLSTM to copy
        return None
    t0 = time.time()
    graph = onnx.load(str(base.folder / "encoder.onnx"))
    enc = encoder_from_onnx(graph, base.dims["emb"], base.dims["hidden"])
    if enc is None:
        return None
    rank = sc.FT_RANK if rank is None else rank
    if rank < 0:
        raise ValueError(f"rank {rank}: a delta's rank is 1 or more (0: the whole encoder)")
    names = lstm_names(graph) if rank else None
    if rank and names is None:  # a delta is added to the base's int8 LSTM weights
        log.warning("the base's encoder is not an int8 LSTM graph: the skill ships its whole encoder copy")
        rank = 0
    table = base.emb.astype(np.float32) * base.scales[:, None]
    if patch_q is not None and len(patch_q):
        table = np.concatenate([table, patch_q.astype(np.float32) * patch_s[:, None]])
    new, lora = finetune_slot_encoder(
        enc,
        table,
        seqs,
        tags,
        lex,
        weights,
        tag_names,
        base.scales.shape[0],
        epochs=sc.FT_EPOCHS,
        lr=sc.FT_DELTA_LR if rank else sc.FT_LR,
        word_drop=sc.FT_WORD_DROP,
        l2=sc.HEAD_L2,
        seed=seed,
        features=features,
        rank=rank,
    )
    if rank:
        member = {"encoder_delta.npz": delta_bytes(enc, lora, names)}
    else:
        member = {"encoder.onnx": int8_encoder_bytes(enc, base.dims["emb"])}
    log.info(
        "fine-tuned the skill's slot encoder (rank %s): %d epochs, %s %d bytes, %.1f s",
        rank or "full",
        sc.FT_EPOCHS,
        *member,
        len(next(iter(member.values()))),
        time.time() - t0,
    )
    return new, member


def lstm_names(graph: Path | onnx.ModelProto) -> dict[str, str] | None:
    """The base graph's initializer names by delta role (``edge_nlu.runtime.encoder_delta.NAMES``), or None when
    its encoder is not one int8 ``DynamicQuantizeLSTM`` node with a word-shape table."""
    m = graph if isinstance(graph, onnx.ModelProto) else onnx.load(str(graph))
    found = _lstm_node(m)
    if found is None or found[0].op_type != "DynamicQuantizeLSTM" or len(found[0].input) < 12:
        return None
    ins = list(found[0].input)
    return dict(zip(NAMES, [ins[1], ins[8], ins[9], ins[2], ins[10], ins[11], ins[3], found[1]]))


def delta_bytes(encoder: Encoder, lora: dict[str, tuple[np.ndarray, np.ndarray]], names: dict[str, str]) -> bytes:
    """The ``encoder_delta.npz`` member of a skill whose encoder was fine-tuned with rank-r updates (``lora``, from
    :func:`finetune_slot_encoder`) on top of the base graph's int8 weights, named by role in ``names``
    (:func:`lstm_names`)."""
    from edge_nlu.runtime.artifacts import npz_bytes
    from quantize.int8 import WEIGHT_QMAX

    h = encoder.lstm.hidden_size
    sd = {k: v.detach().numpy() for k, v in encoder.state_dict().items()}
    arrays: dict[str, np.ndarray] = {"names": np.array([names[k] for k in NAMES])}
    for key, torch_name in (("w", "lstm.weight_ih_l0"), ("r", "lstm.weight_hh_l0")):
        ups, downs = zip(*(lora[torch_name + sfx] for sfx in ("", "_reverse")))
        arrays[f"{key}_up"] = np.stack([_onnx_gates(u, h) for u in ups]).astype(np.float16)
        arrays[f"{key}_down"] = np.stack(downs).astype(np.float16)
    arrays["bias"] = np.stack(
        [
            np.concatenate([_onnx_gates(sd[f"lstm.bias_ih_l0{sfx}"], h), _onnx_gates(sd[f"lstm.bias_hh_l0{sfx}"], h)])
            for sfx in ("", "_reverse")
        ]
    ).astype(np.float32)
    arrays["case"] = sd["case.weight"].astype(np.float32)
    arrays["qmax"] = np.array([WEIGHT_QMAX], dtype=np.int32)
    return npz_bytes(arrays)


def int8_encoder_bytes(encoder: Encoder, emb_dim: int) -> bytes:
    """The encoder exported (opset 17, dynamic shapes) and dynamically quantized to int8, as bytes."""
    from export.onnx_export import export_encoder
    from quantize.int8 import quantize_encoder

    with tempfile.TemporaryDirectory(prefix="edge-nlu-skill-encoder-") as tmp:
        fp32, int8 = Path(tmp) / "encoder_fp32.onnx", Path(tmp) / "encoder.onnx"
        export_encoder(encoder, emb_dim, fp32)
        quantize_encoder(fp32, int8)
        return int8.read_bytes()


def add_to_skill(model: Path, skill: str, rows, out: Path, seed: int = 0) -> dict:
    """Write ``out``: the skill ``skill`` of ``model`` with a slot encoder fine-tuned on ``rows`` (its heads, label
    maps and patch as they are otherwise). For a jointly trained skill of a base; ``build-skill`` does this itself."""
    from edge_nlu.runtime.artifacts import npz_arrays, npz_bytes, read_skill, rewrite_skill
    from edge_nlu.runtime.base import Base
    from edge_nlu.runtime.skill import Skill
    from export.skill_compiler import pack_weights, row_inputs, unpack_weights

    base = Base(Path(model) / "base")
    src = Path(model) / "skills" / f"{skill}.skill"
    sk = Skill(src, base.manifest)
    _, members = read_skill(src, base.manifest)
    arrays = unpack_weights(npz_arrays(members["weights.npz"]))
    if "transitions" not in arrays:
        raise ValueError(f"{src}: a skill without a CRF slot head has no slot encoder to fine-tune")

    ti = {t: i for i, t in enumerate(sk.tags)}
    seqs, tags, lex = [], [], []
    for u in rows:
        seq, tg, lx = row_inputs(base, u, sk.patch, ti, sk.gazetteer)
        seqs.append((seq.ids.tolist(), seq.case.tolist(), list(seq.first)))
        tags.append(tg)
        lex.append(lx)
    t0 = time.time()
    keys = [k for k in ("slot_w", "slot_b", "transitions", "lex_w") if k in arrays]
    got = fit_slot_encoder(
        base, sk.patch_q, sk.patch_s, seqs, tags, lex, {k: arrays[k] for k in keys}, sk.tags, sk.slot_features, seed
    )
    if got is None:
        raise ValueError(f"{base.folder / 'encoder.onnx'}: not a one-layer BiLSTM encoder")
    new, member = got

    def edit(m: dict) -> None:
        m["weights.npz"] = npz_bytes(pack_weights({**arrays, **{k: new[k] for k in keys}}))
        for name in ("encoder.onnx", "encoder_delta.npz"):
            m.pop(name, None)
        m.update(member)

    out = Path(out)
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.copyfile(src, tmp)
    rewrite_skill(tmp, base.manifest, edit)
    tmp.replace(out)
    return {"rows": len(rows), "seconds": round(time.time() - t0, 1), "encoder_bytes": sum(map(len, member.values()))}


def main(argv: list[str] | None = None) -> int:
    """``python -m export.skill_encoder --model DIR --skill NAME --set SET [--out NEW.skill]``: fine-tune a slot
    encoder for a jointly trained skill on SET's train rows and score the skill given on SET's dev rows, before and
    after (the model itself is not changed; ``--out`` keeps the new skill file)."""
    import edge_nlu
    from edge_nlu.data import data_dir
    from edge_nlu.definitions.jsonl import read_jsonl
    from edge_nlu.metrics import evaluate

    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("--model", required=True)
    ap.add_argument("--skill", required=True)
    ap.add_argument("--set", required=True, help="data set under the data folder (train.jsonl, dev.jsonl)")
    ap.add_argument("--out", help="where to keep the new .skill")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    torch.set_num_threads(1)
    model = Path(a.model)
    rows = [u for u in read_jsonl(data_dir() / a.set / "train.jsonl") if u.intent and u.skill == a.skill]
    gold = [u for u in read_jsonl(data_dir() / a.set / "dev.jsonl") if u.skill == a.skill]

    def score(m: Path, home: Path) -> dict:
        nlu = edge_nlu.load(m, home=home)
        preds = [r.to_utterance() for r in nlu.parse_batch([u.text for u in gold], skill=a.skill)]
        got = evaluate(gold, preds)
        return {k: round(100 * got[k], 2) for k in ("intent_accuracy", "slot_f1", "exact_match")}

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        copy = tmp / "model"
        shutil.copytree(model, copy, ignore=shutil.ignore_patterns("_work"))
        info = add_to_skill(model, a.skill, rows, copy / "skills" / f"{a.skill}.skill", a.seed)
        res = {
            "skill": a.skill,
            "set": a.set,
            **info,
            "dev_before": score(model, tmp / "h0"),
            "dev_after": score(copy, tmp / "h1"),
        }
        if a.out:
            shutil.copyfile(copy / "skills" / f"{a.skill}.skill", a.out)
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main())
