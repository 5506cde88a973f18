"""Compile a skill (heads, label maps, embedding patch, catalog) into one verified ``.skill`` file.

Used twice: by the default build for the skills trained jointly with the shared encoder, and by
``edge-nlu build-skill`` for a new skill on an existing base, where the shared encoder is frozen: its int8 encoder
computes features once and the skill's heads are trained on them (negatives for the NONE class come from the base's
``negatives.npy``); then a copy of the encoder is fine-tuned with the slot head (``export.skill_encoder``) and
ships in the skill. Patch rows are the teacher's embeddings of the words, projected like the shared table.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import random
import time
import uuid
from collections import Counter
from pathlib import Path

import numpy as np

from edge_nlu.definitions.model import SkillDefinition, SlotSpan, Utterance
from edge_nlu.runtime.artifacts import npz_bytes, write_skill
from edge_nlu.runtime.lexical import BUCKETS, TEMPLATES, lexical_ids
from edge_nlu.runtime.skill import slot_features
from edge_nlu.runtime.store import safe_name
from edge_nlu.words import split_words, word_key
from export.student import NONE, SkillLabels
from quantize.int8 import quantize_columns, quantize_rows

log = logging.getLogger(__name__)

MAX_PATCH = 256
# slot features of a skill compiled on a frozen base: state + neighbours + the word's embedding and shape
# (measured on the Snips-2017 protocol, 4 intents, seed 0: +5 slot F1 at 10 utterances, +9 at 50 over states alone)
SLOT_FEATURES = "context"
# hashed lexical features in the slot CRF of a compiled skill (edge_nlu.runtime.lexical)
LEXICAL = True
# built-in gazetteer features (countries, US states, cities) among them, and gazetteer names in the augmentation of
# place slots (edge_nlu.runtime.gazetteer): opt-in (build-skill --gazetteer). Snips-2017 held-out rows, 3 draws:
# GetWeather +3.6 / +2.2 and BookRestaurant +1.3 / +2.9 slot F1 at 10 / 50 utterances, the other intents unchanged
GAZETTEER = False
# slot-value swapping: AUGMENT new utterances per training utterance, at most MAX_AUGMENT in all. 12 rather than 4:
# Snips-2017 held-out rows, two sets of 3 draws each: +0.97 / +1.12 and +1.05 / +0.72 slot F1 at 10 / 50 utterances
# (compile time x1.5)
AUGMENT = 12
MAX_AUGMENT = 2000
# L2 strength of a compiled skill's heads (intent and slot weights, and the lexical rows). Snips-2017 held-out rows,
# seeds 0-2, at 10 / 50 utterances: 1e-3 60.00 / 82.29, 3e-3 58.61 / 81.95, 3e-4 55.82 / 81.44
HEAD_L2 = 1e-3
# the skill's own slot encoder: a copy of the base's, fine-tuned with the slot head after the heads are trained
# (export.skill_encoder). Rule 33, Snips-2017 held-out rows, seeds 0-2, 10 / 50 utterances: see RESULTS ("per-skill
# slot encoder"). Settings chosen on seed-3/4 draws: 10 epochs, encoder lr 3e-3, head lr 1e-3, word-piece drop 0.2
FINETUNE = True
FT_EPOCHS = 10
FT_LR = 3e-3
FT_WORD_DROP = 0.2
# 0: the skill ships its fine-tuned encoder whole (encoder.onnx, ~290 KB); r > 0: it trains and ships only a rank-r
# update of the LSTM's weights (encoder_delta.npz, ~55 KB at rank 8; edge_nlu.runtime.encoder_delta), with the encoder
# lr FT_DELTA_LR. Rule 35, Snips-2017 held-out rows, seeds 0-2, 10 / 50 utterances: whole copy 62.39 / 84.61, rank-8
# delta 63.97 / 84.34 (settings chosen on seed-3/4 draws from rank 8 at lr 3e-3 and 1e-2 and rank 16 at 1e-2)
FT_RANK = 8
FT_DELTA_LR = 1e-2
# the joint decoding weight of a skill whose definition declares each intent's slots (an Alexa interaction model),
# when build-skill is given none (None: off). 0: a parse keeps to the slots its intent declares, the intent stays
# the classifier's. Rule 50, the 18 HWU64 skills compiled from 10 / 30 rows per intent with declared slots, dev exact
# match: off 64.96 / 68.87, W 0 65.52 / 69.42 (slot F1 65.95 / 73.30 -> 66.75 / 73.97); W 0.5 no more than +0.1 over
# 0 (RESULTS, "Joint decoding for compiled skills"). Without declared slots (every other format) no weight helped
# (rule 48), so those skills get none
SCHEMA_JOINT_WEIGHT: float | None = 0.0
# the settings above, which benchmarks may vary per run (python -m benchmarks.snips2017 --compiler NAME=VALUE)
SETTINGS = (
    "MAX_PATCH",
    "SLOT_FEATURES",
    "LEXICAL",
    "GAZETTEER",
    "AUGMENT",
    "MAX_AUGMENT",
    "HEAD_L2",
    "MAX_UTTERANCES",
    "FINETUNE",
    "FT_EPOCHS",
    "FT_LR",
    "FT_WORD_DROP",
    "FT_RANK",
    "FT_DELTA_LR",
    "SCHEMA_JOINT_WEIGHT",
)
# a compiled skill is trained full-batch on the frozen base (memory grows with utterances × words × tags: 2,000 SNIPS
# utterances with 79 tags: 1.8 GB and over 7 minutes); a bigger data set belongs in a base (python -m export.build)
MAX_UTTERANCES = 5000


def choose_patch(
    rows, definition: SkillDefinition | None, shared_tok, teacher_tok, max_rows: int = MAX_PATCH
) -> list[str]:
    """Words the shared vocabulary splits badly (≥3 pieces or [UNK]) but the teacher knows better."""
    counts: Counter = Counter(word_key(w) for u in rows for w, _, _ in split_words(u.text))
    if definition is not None:
        for st in definition.slot_types.values():
            for v in st.values:
                for text in [v.value, *v.synonyms]:
                    for w, _, _ in split_words(text):
                        counts[word_key(w)] += 2
    cands = []
    unk = shared_tok.token_to_id("[UNK]")
    for w, c in counts.most_common():
        if c < 2 or len(w) < 3 or not any(ch.isalpha() for ch in w):
            continue
        sp = shared_tok.encode([w], is_pretokenized=True, add_special_tokens=False).ids
        tp = teacher_tok.encode([w], is_pretokenized=True, add_special_tokens=False).ids
        if (len(sp) >= 3 or unk in sp) and len(tp) < len(sp):
            cands.append(w)
        if len(cands) >= max_rows:
            break
    return cands


def patch_init(words: list[str], teacher_tok, teacher_emb: np.ndarray, projection: np.ndarray) -> np.ndarray:
    """Teacher embedding of each word (mean of its teacher pieces), projected into the student's space."""
    out = np.zeros((len(words), projection.shape[1]), dtype=np.float32)
    for i, w in enumerate(words):
        ids = teacher_tok.encode([w], is_pretokenized=True, add_special_tokens=False).ids
        out[i] = teacher_emb[ids].mean(0) @ projection
    return out


def augment(
    rows: list[Utterance],
    definition: SkillDefinition | None,
    target: int,
    seed: int = 0,
    extra: dict[str, list[str]] | None = None,
) -> list[Utterance]:
    """Up to ``target`` new utterances: training utterances with each slot value swapped for another value of the
    same slot (from other utterances or the slot type's catalog), so a skill learned from a few examples sees
    each carrier phrase with many values and learns slot boundaries from context, not from the values. ``extra``:
    more values of some slots (gazetteer names), drawn half the time."""
    pool: dict[str, set[str]] = {}
    for u in rows:
        for s in u.slots:
            pool.setdefault(s.slot, set()).add(s.value)
    if definition is not None:
        for it in definition.intents.values():
            for sl in it.slots:
                st = definition.slot_types.get(sl.type)
                if st is not None and not st.builtin:
                    for v in st.values:
                        pool.setdefault(sl.name, set()).update([v.value, *v.synonyms])
    values = {k: sorted(v) for k, v in pool.items()}
    templates = [u for u in rows if u.slots]
    rng = random.Random(seed)
    out: list[Utterance] = []
    for _ in range(target if templates else 0):
        u = rng.choice(templates)
        text, spans, pos = "", [], 0
        for s in sorted(u.slots, key=lambda s: s.start):
            text += u.text[pos : s.start]
            more = (extra or {}).get(s.slot)
            v = rng.choice(more if more and rng.random() < 0.5 else values[s.slot])
            spans.append(SlotSpan(s.slot, len(text), len(text) + len(v), v))
            text += v
            pos = s.end
        out.append(Utterance(text + u.text[pos:], u.intent, spans, u.skill))
    return out


def gazetteer_pools(rows: list[Utterance]) -> dict[str, list[str]]:
    """Gazetteer names to augment the slots whose training values are mostly countries, US states or cities
    (``export.gazetteer.slot_pools``), so the skill learns the gazetteer feature, not its few example names."""
    from export.gazetteer import slot_pools

    values: dict[str, set[str]] = {}
    for u in rows:
        for s in u.slots:
            values.setdefault(s.slot, set()).add(s.value)
    pools = slot_pools(values)
    if pools:
        log.info("gazetteer values for slots: %s", ", ".join(f"{k} ({kind})" for k, (kind, _) in sorted(pools.items())))
    return {k: names for k, (_, names) in pools.items()}


def declared_intent_slots(definition: SkillDefinition | None, labels: SkillLabels) -> dict[str, list[str]]:
    """The slots each intent may carry (labels.json ``intent_slots``). A definition that declares each intent's
    slots (``declares_intent_slots``: an Alexa interaction model) gives exactly those: the author's schema. Otherwise
    ``labels.intent_slots`` (the slots each intent's training rows have, plus those too rare to tell) plus the slots
    the definition lists for the intent, so a listed slot that an intent's few examples lack stays allowed."""
    out = {k: set(v) for k, v in labels.intent_slots.items()}
    if definition is not None:
        for name, it in definition.intents.items():
            if name in out:
                if definition.declares_intent_slots:
                    out[name] = {s.name for s in it.slots}
                else:
                    out[name].update(s.name for s in it.slots)
    return {k: sorted(v) for k, v in out.items()}


def catalog_of(definition: SkillDefinition | None, labels: SkillLabels) -> tuple[dict, dict]:
    """(slot -> {type, builtin}) and (type -> catalog dict) for entity resolution at run time."""
    from edge_nlu.runtime.resolve import CatalogResolver, builtin_type_for_slot

    slot_types: dict[str, dict] = {}
    catalogs: dict[str, dict] = {}
    slots = sorted({t[2:] for t in labels.tags if t != "O"})
    for slot in slots:
        st = None
        if definition is not None:
            for it in definition.intents.values():
                for s in it.slots:
                    if s.name == slot:
                        st = definition.slot_types.get(s.type)
        builtin = None
        if st is not None and st.builtin:
            builtin = st.name
        elif builtin_type_for_slot(slot):
            builtin = builtin_type_for_slot(slot)
        tname = st.name if st is not None else slot
        slot_types[slot] = {"type": tname, "builtin": builtin}
        if st is not None and st.values and tname not in catalogs:
            curated = any(v.synonyms or v.id for v in st.values) or not st.extensible
            catalogs[tname] = CatalogResolver.from_slot_type(st, fuzzy=curated).to_dict()
    return slot_types, catalogs


# the heads' weight matrices as stored in weights.npz: float16 halves them (a skill's largest float arrays after the
# lexical table) and moves its scores by ~1e-3 of their range, far below the int8 encoder's own error
HALF = ("intent_w", "slot_w")
HEADS = ("intent_w", "intent_b", "slot_w", "slot_b", "transitions")  # the float arrays besides the lexical table
# False writes the format before compact heads (float16 lexical table, float32 matrices; the runtime reads both):
# for benchmarks.compact_heads, which measures what the compact form changes
COMPACT = True


def pack_weights(weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A skill's float head weights as weights.npz stores them: the hashed lexical table ``lex_w`` int8 with a scale
    per tag (``lex_s``), the intent and slot matrices float16, the rest float32. Other arrays pass unchanged."""
    out = dict(weights)
    if "lex_s" in out:
        raise ValueError("pack_weights: the weights are packed already (lex_s present)")
    for k in HEADS:
        if k in out:
            out[k] = np.asarray(out[k], dtype=np.float16 if k in HALF and COMPACT else np.float32)
    if "lex_w" in out:
        if COMPACT:
            out["lex_w"], out["lex_s"] = quantize_columns(out["lex_w"])
        else:
            out["lex_w"] = np.asarray(out["lex_w"], dtype=np.float16)
    return out


def unpack_weights(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The inverse of ``pack_weights`` (float32 head weights) for a rewrite of a skill's weights; int8 members of
    other kinds (patch rows, the intent expert) pass unchanged."""
    out = dict(arrays)
    for k in HEADS:
        if k in out:
            out[k] = np.asarray(out[k], dtype=np.float32)
    if "lex_w" in out:
        lw = out["lex_w"].astype(np.float32)
        out["lex_w"] = lw * out.pop("lex_s")[None, :] if "lex_s" in out else lw
    return out


def write_skill_file(
    out: Path,
    labels: SkillLabels,
    weights: dict[str, np.ndarray],
    patch_rows: np.ndarray,
    base_manifest: dict,
    definition: SkillDefinition | None = None,
    temperature: float = 1.0,
    invocation_name: str | None = None,
    slot_features: str = "states",
    lexical: str | None = None,
    encoder: dict[str, bytes] | None = None,
) -> dict:
    """Write ``out`` atomically (temp file + rename) and return its manifest; ``encoder``: the skill's own slot
    encoder (``export.skill_encoder``), its ``encoder.onnx`` or ``encoder_delta.npz`` member."""
    slot_types, catalogs = catalog_of(definition, labels)
    words = sorted(labels.patch, key=labels.patch.get)
    if len(words):
        pq, ps = quantize_rows(patch_rows)
    else:
        pq, ps = np.zeros((0, base_manifest["dims"]["emb"]), np.int8), np.zeros((0,), np.float32)
    arrays = pack_weights({k: np.asarray(v, dtype=np.float32) for k, v in weights.items()})
    arrays.update(patch_q=pq, patch_s=ps)
    members = {
        "labels.json": json.dumps(
            {
                "name": labels.name,
                "invocation_name": invocation_name,
                "intents": labels.intents,
                "tags": labels.tags,
                "temperature": temperature,
                "slot_types": slot_types,
                "slot_features": slot_features,
                **({"lexical": lexical} if lexical else {}),
                **({"intent_slots": labels.intent_slots} if labels.intent_slots else {}),
                **({"joint_weight": labels.joint_weight} if labels.joint_weight is not None else {}),
            }
        ).encode(),
        "weights.npz": npz_bytes(arrays),
        "patch.json": json.dumps({"words": words}).encode(),
        "catalog.json": json.dumps(catalogs, ensure_ascii=False).encode(),
    }
    members.update(encoder or {})
    meta = {
        "name": labels.name,
        "invocation_name": invocation_name,
        "base_id": base_manifest["base_id"],
        "vocab_hash": base_manifest["vocab_hash"],
        "dims": base_manifest["dims"],
        "intents": [i for i in labels.intents if i != NONE],
        # SOURCE_DATE_EPOCH (reproducible-builds.org): a fixed time makes a recompiled skill byte-identical
        "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(_build_time())),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = str(out.parent / f".{out.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    # created with 0666 and the process's umask, as an ordinary file would be (mkstemp's 0600 would stay on it)
    os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    try:
        manifest = write_skill(Path(tmp), members, meta)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return manifest


def _downsample(rows: list[Utterance], k: int, seed: int) -> list[Utterance]:
    """About ``k`` of ``rows``, each intent keeping its share (at least one), in their original order."""
    by_intent: dict[str, list[int]] = {}
    for i, u in enumerate(rows):
        by_intent.setdefault(u.intent, []).append(i)
    rng = random.Random(seed)
    keep: list[int] = []
    for idx in by_intent.values():
        keep += rng.sample(idx, max(1, round(k * len(idx) / len(rows))))
    return [rows[i] for i in sorted(keep)]


def _build_time() -> float:
    """When the skill was built: now, or ``SOURCE_DATE_EPOCH`` (reproducible-builds.org) for byte-identical files."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is None:
        return time.time()
    if not epoch.isdigit():
        log.warning("SOURCE_DATE_EPOCH=%r is not a number of seconds: using the current time", epoch)
        return time.time()
    return float(epoch)


def lexical_templates(gazetteer: bool | None = None) -> str:
    """The lexical template list a compiled skill records (with the gazetteer's version when it is used)."""
    if GAZETTEER if gazetteer is None else gazetteer:
        from edge_nlu.runtime.gazetteer import gazetteer_templates

        return gazetteer_templates()
    return TEMPLATES


def row_inputs(base, u: Utterance, patch: dict[str, int], tag_index: dict[str, int], gaz=None):
    """One utterance's encoder input (patch words as their rows), its BIO tag ids and its hashed lexical ids."""
    from edge_nlu.words import spans_to_bio

    tk = base.tokenize(u.text)
    seq = base.sequence(tk, 0, patch)
    tags = [tag_index.get(t, 0) for t in spans_to_bio(tk.words, u.slots)]
    return seq, tags, lexical_ids([w for w, _, _ in tk.words], gaz=gaz)


def _features(
    base, rows, labels: SkillLabels, patch_q: np.ndarray | None, patch_s: np.ndarray | None, gazetteer: bool = False
):
    """Pooled vectors, per-word slot features, tag ids, lexical ids and encoder inputs (piece ids, word shapes,
    first piece of each word) of ``rows`` from the base's (int8) encoder, patch overlaid."""
    pooled, states, tags, lex, seqs = [], [], [], [], []
    ti = {t: i for i, t in enumerate(labels.tags)}
    gaz = None
    if gazetteer:
        from edge_nlu.runtime.gazetteer import gazetteer as packaged

        gaz = packaged()
    for u in rows:
        seq, tg, lx = row_inputs(base, u, labels.patch, ti, gaz)
        st, po = base.run([seq], patch_q, patch_s)
        pooled.append(po[0])
        emb = base.embed(seq.ids, patch_q, patch_s)
        states.append(slot_features(SLOT_FEATURES, st[0], seq.first, emb, seq.case))
        tags.append(tg)
        lex.append(lx)
        seqs.append((seq.ids.tolist(), seq.case.tolist(), list(seq.first)))
    return np.stack(pooled), states, tags, lex, seqs


def lexical_tensor(lex: list[list[list[int]]], n_max: int):
    """[rows, n_max, k_max] torch tensor of per-row, per-word lexical bucket ids, padded with ``BUCKETS`` (the
    padding row of an embedding-bag over ``BUCKETS + 1`` rows)."""
    import torch

    k_max = max((len(f) for row in lex for f in row), default=1)
    ids = torch.full((len(lex), n_max, k_max), BUCKETS, dtype=torch.long)
    for i, row in enumerate(lex):
        for j, f in enumerate(row[:n_max]):
            ids[i, j, : len(f)] = torch.tensor(f)
    return ids


def lexical_sum(ids, table):
    """[B, N, K] sum of ``table``'s rows over each word's bucket ids ``ids`` [B, N, T] (from :func:`lexical_tensor`;
    its padding id ``BUCKETS`` adds nothing and gets no gradient)."""
    import torch

    b, n, t = ids.shape
    flat = ids.reshape(-1, t)
    return torch.nn.functional.embedding_bag(flat, table, mode="sum", padding_idx=BUCKETS).reshape(b, n, -1)


def _frozen_input_matmul():
    """``x @ w`` for a constant ``x`` [N, F] and a trained ``w`` [F, K], computed as ``linear(x, w.T)`` with the
    weight gradient taken as ``(g.T @ x).T``: with large N and small K, the plain ``x @ w`` and its ``x.T @ g`` hit a
    slow sgemm path in the CPU build of torch here (2x and 13x slower: together 70% of a skill compile)."""
    import torch

    class FrozenInputMatmul(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x, w):
            ctx.save_for_backward(x)
            return torch.nn.functional.linear(x, w.t().contiguous())  # 2x faster than x @ w at these shapes

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return None, (g.T @ x).T

    return FrozenInputMatmul.apply


def train_heads(
    pooled,
    states,
    tags,
    intent_y,
    negatives,
    n_intents: int,
    n_tags: int,
    seed: int = 0,
    steps: int = 300,
    l2: float = 1e-3,
    tag_names: list[str] | None = None,
    lex: list[list[list[int]]] | None = None,
    lex_l2: float = 1e-3,
) -> dict[str, np.ndarray]:
    """Heads on frozen features: a multinomial logistic regression for intents (+NONE from negatives) and, with
    ``tag_names``, a linear-chain CRF for slot tags (learned transitions, BIO-invalid moves masked); with ``lex``
    (per row, per word, hashed lexical feature ids) the CRF's emissions also get one learned row per bucket."""
    import torch

    from export.student import crf_nll

    torch.manual_seed(seed)
    x = torch.tensor(np.concatenate([pooled, negatives.astype(np.float32)]))
    y = torch.tensor(list(intent_y) + [n_intents - 1] * len(negatives))
    w = torch.tensor([1.0] * len(pooled) + [0.3 * len(pooled) / max(1, len(negatives))] * len(negatives))
    xs = torch.tensor(np.concatenate(states)) if states else torch.zeros((0, 1))
    ys = torch.tensor([t for ts in tags for t in ts])
    iw = torch.zeros((x.shape[1], n_intents), requires_grad=True)
    ib = torch.zeros(n_intents, requires_grad=True)
    sw = torch.zeros((xs.shape[1], n_tags), requires_grad=True)
    sb = torch.zeros(n_tags, requires_grad=True)
    params = [iw, ib, sw, sb]
    crf = tag_names is not None and n_tags > 1 and len(ys) > 0
    if crf:
        from edge_nlu.runtime.skill import bio_allowed

        trans = torch.zeros((n_tags + 1, n_tags), requires_grad=True)
        params.append(trans)
        mask_t = torch.tensor(np.where(bio_allowed(tag_names), 0.0, -1e4), dtype=torch.float32)
        n_max = max(len(t) for t in tags)
        feats = torch.zeros((len(tags), n_max, xs.shape[1]))
        tgt = torch.zeros((len(tags), n_max), dtype=torch.long)
        msk = torch.zeros((len(tags), n_max))
        for i, (st, tg) in enumerate(zip(states, tags)):
            if len(tg):
                feats[i, : len(tg)] = torch.tensor(st)
                tgt[i, : len(tg)] = torch.tensor(tg)
                msk[i, : len(tg)] = 1
        use_lex = lex is not None
        if use_lex:
            lex_ids = lexical_tensor(lex, n_max)
            lex_w = torch.zeros((BUCKETS + 1, n_tags), requires_grad=True)  # the padding row gets no gradient
            params.append(lex_w)
        keep = msk[:, 0] > 0
        feats, tgt, msk = feats[keep], tgt[keep], msk[keep]
        if use_lex:
            lex_ids = lex_ids[keep]
    opt = torch.optim.Adam(params, lr=0.05)
    mm = _frozen_input_matmul()
    if crf:
        feats2 = feats.reshape(-1, feats.shape[2])
    for _ in range(steps):
        li = torch.nn.functional.cross_entropy(mm(x, iw) + ib, y, reduction="none")
        loss = (li * w).sum() / w.sum() + l2 * (iw.pow(2).sum() + sw.pow(2).sum())
        if crf:
            em = mm(feats2, sw).reshape(*feats.shape[:2], -1) + sb
            if use_lex:
                em = em + lexical_sum(lex_ids, lex_w)
                loss = loss + lex_l2 * lex_w.pow(2).sum()
            nll = crf_nll(em, tgt, msk, trans + mask_t)
            loss = loss + nll.sum() / msk.sum()
        elif len(ys):
            loss = loss + torch.nn.functional.cross_entropy(mm(xs, sw) + sb, ys)
        opt.zero_grad()
        loss.backward()
        opt.step()
    out = {
        "intent_w": iw.detach().numpy(),
        "intent_b": ib.detach().numpy(),
        "slot_w": sw.detach().numpy(),
        "slot_b": sb.detach().numpy(),
    }
    if crf:
        out["transitions"] = trans.detach().numpy()
        if use_lex:
            out["lex_w"] = lex_w.detach().numpy()[:BUCKETS].astype(np.float16)
    return out


def compile_skill(
    definition: SkillDefinition,
    model_dir: Path,
    out: Path,
    seed: int = 0,
    gazetteer: bool | None = None,
    finetune: bool | None = None,
    rank: int | None = None,
    joint_weight: float | None = None,
) -> dict:
    """Build ``out`` (a .skill file) for ``definition`` on the base in ``model_dir`` (its shared parts frozen);
    ``gazetteer``: built-in place-name features and augmentation (None: the module default, ``GAZETTEER``);
    ``finetune``: ship a fine-tuned copy of the encoder for the slot head (None: ``FINETUNE``); without it a
    parse runs one encoder pass instead of two, with lower few-shot slot F1; ``rank``: that copy as a rank-r
    delta of the base's weights, or 0 for the whole int8 graph (None: ``FT_RANK``); ``joint_weight``: the joint
    intent-slot decoding weight parses use with the skill by default (None: ``SCHEMA_JOINT_WEIGHT`` for a definition
    that declares its intents' slots, else off)."""
    from edge_nlu.runtime.base import Base

    t0 = time.time()
    name = safe_name(definition.name)  # a file or invocation name ("pizza café") may not be a skill name as is
    if name != definition.name:
        log.warning("skill name %r is stored as %r (ASCII letters, digits, '_', '-', '.')", definition.name, name)
        definition = dataclasses.replace(definition, name=name)
    base_dir = Path(model_dir) / "base" if (Path(model_dir) / "base").is_dir() else Path(model_dir)
    base = Base(base_dir)
    rows = [u for u in definition.utterances() if u.intent]
    if not rows:
        from edge_nlu.errors import DefinitionError

        raise DefinitionError("has no training utterances", file=definition.source)
    if len(rows) > MAX_UTTERANCES:  # (Alexa templates expand: a few hundred samples can pass it)
        n = len(rows)
        rows = _downsample(rows, MAX_UTTERANCES, seed)
        log.warning(
            "%s: %d training utterances; compiling on %d drawn across its intents (a larger data set belongs in a "
            "base: python -m export.build)",
            definition.source or definition.name,
            n,
            len(rows),
        )
    labels = SkillLabels.from_rows(definition.name, rows)
    labels.intent_slots = declared_intent_slots(definition, labels)
    if joint_weight is None and definition.declares_intent_slots:
        joint_weight = SCHEMA_JOINT_WEIGHT
    if joint_weight is not None:
        from edge_nlu.runtime.skill import is_weight

        if not is_weight(joint_weight):
            raise ValueError(f"joint_weight must be a number >= 0, not {joint_weight!r}")
        labels.joint_weight = float(joint_weight)
    n_given = len(rows)
    gazetteer = GAZETTEER if gazetteer is None else gazetteer
    extra = gazetteer_pools(rows) if gazetteer else None
    if AUGMENT:
        rows = rows + augment(rows, definition, min(AUGMENT * len(rows), MAX_AUGMENT), seed, extra)
    patch_rows = np.zeros((0, base.dims["emb"]), np.float32)
    try:
        from export.corpus import load_tokenizer
        from export.teacher import teacher_dir

        teacher_tok = load_tokenizer(teacher_dir() / "tokenizer.json")
        words = choose_patch(rows, definition, base.tokenizer, teacher_tok)
        if words:
            from export.build import teacher_embeddings

            proj = np.load(base_dir / "projection.npy")
            patch_rows = patch_init(words, teacher_tok, teacher_embeddings(), proj)
            labels.patch = {w: i for i, w in enumerate(words)}
    except (ImportError, SystemExit):
        log.warning("teacher package not installed: skill built without an embedding patch")
    pq, ps = quantize_rows(patch_rows) if len(patch_rows) else (None, None)
    log.info("encoding %d utterances (%d given, %d patch rows)", len(rows), n_given, len(labels.patch))
    pooled, states, tags, lex, seqs = _features(base, rows, labels, pq, ps, gazetteer)
    log.info(
        "training the heads: %d intents, %d tags (%.0f s so far)",
        len(labels.intents),
        len(labels.tags),
        time.time() - t0,
    )
    y = [labels.intents.index(u.intent) for u in rows]
    weights = train_heads(
        pooled,
        states,
        tags,
        y,
        base.negatives,
        len(labels.intents),
        len(labels.tags),
        seed,
        tag_names=labels.tags,
        lex=lex if LEXICAL else None,
        l2=HEAD_L2,
        lex_l2=HEAD_L2,
    )
    encoder: dict[str, bytes] = {}  # the skill's own slot encoder member, if it gets one
    finetune = FINETUNE if finetune is None else finetune
    if finetune and SLOT_FEATURES == "context" and "transitions" in weights:
        from export.skill_encoder import fit_slot_encoder

        got = fit_slot_encoder(base, pq, ps, seqs, tags, lex, weights, labels.tags, seed=seed, rank=rank)
        if got is None:
            log.warning(
                "the base's encoder is not one one-layer BiLSTM (another kind, or an ensemble of several): skill "
                "built without its own slot encoder"
            )
        else:
            weights, encoder = got
    manifest = write_skill_file(
        out,
        labels,
        weights,
        patch_rows,
        base.manifest,
        definition,
        invocation_name=definition.invocation_name,
        slot_features=SLOT_FEATURES,
        lexical=lexical_templates(gazetteer) if "lex_w" in weights else None,
        encoder=encoder,
    )
    log.info(
        "compiled skill %s: %d utterances (+%d augmented), %d intents, %d tags, %d patch rows, %d bytes in %.1f s",
        definition.name,
        n_given,
        len(rows) - n_given,
        len(labels.intents) - 1,
        len(labels.tags),
        len(labels.patch),
        out.stat().st_size,
        time.time() - t0,
    )
    return {
        **manifest,
        "seconds": round(time.time() - t0, 2),
        "bytes": out.stat().st_size,
        "utterances": n_given,
        "augmented": len(rows) - n_given,
        "patch_rows": len(labels.patch),
        "encoder_bytes": sum(len(v) for v in encoder.values()),
    }
