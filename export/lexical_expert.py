"""Add lexical experts to the skills of a built model: a CRF for slots, a logistic regression for intents.

``python -m export.lexical_expert --model DIR --config export/configs/default.json [--kind slots|intents]
[--skills a,b] [--weight W]``

A MaxEnt-CRF over hashed lexical features (``edge_nlu.runtime.lexical``: words, neighbours, bigrams, affixes,
casing patterns) is trained on each skill's training rows alone and combined with the skill's neural CRF as a
product of experts: emission and transition scores add up, the lexical ones scaled by ``weight`` (chosen on dev).
The runtime needs nothing new: a skill with ``lex_w`` adds its lexical emissions before the log-softmax, and that
softmax shifts every tag of a word by the same amount, so Viterbi decodes exactly the product of both CRFs.
Errors of the two experts differ (the neural one generalises over meanings, the lexical one memorises carrier
phrases), which is why the product beats either alone.

The intent expert is the same idea for intents: a multinomial logistic regression on the utterance's binary bag of
word unigrams and bigrams (hashed, L2-normalised; ``edge_nlu.runtime.lexical.intent_ids``), trained on the skill's
rows (their intents) and the other skills' rows of its data set (NONE), whose scores, scaled by ``weight``, are added
to the skill's calibrated intent logits at parse time (stored int8 with a scale per intent). It sharpens both the
intent within a skill and routing between skills, where carrier words ("wake me", "what's on my calendar") are
strong evidence. Re-run the calibration afterwards (``python -m export.build --recalibrate``): it fits the
temperatures and the routing threshold with the expert's scores included.

Only skill files change (weights, labels, manifest), atomically one by one; the base and its id stay as they are.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
from pathlib import Path

import numpy as np

from edge_nlu.definitions.model import Utterance
from edge_nlu.runtime.artifacts import npz_arrays, npz_bytes, read_skill, rewrite_skill
from edge_nlu.runtime.lexical import BUCKETS, INTENT_TEMPLATES, TEMPLATES, intent_ids, lexical_ids
from edge_nlu.words import spans_to_bio
from quantize.int8 import quantize_columns

log = logging.getLogger("export.lexical_expert")

WEIGHT = 0.5  # chosen on HWU64 dev (python -m benchmarks.lexical_expert)
L2 = 1e-4
STEPS = 150
BATCH = 2048  # rows per step past which steps are mini-batches (every HWU64 skill has fewer: full batch)
INTENT_WEIGHT = 0.5  # chosen on dev (python -m benchmarks.intent_expert)
INTENT_C = 10.0  # inverse L2 strength per row, as scikit-learn's LogisticRegression(C=...)


def fit_lexical_crf(
    base,
    rows: list[Utterance],
    tags: list[str],
    l2: float = L2,
    steps: int = STEPS,
    seed: int = 0,
    batch: int = BATCH,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(bucket weights [BUCKETS, K], tag bias [K], transitions [K+1, K]) of a CRF on lexical features alone.

    Full-batch Adam; a skill with more than ``batch`` rows (SNIPS: 13k rows, 79 tags) takes each step on ``batch``
    rows drawn at random instead, padded to their own longest row (SNIPS: 150 steps in ~1-2 min)."""
    import torch

    from edge_nlu.runtime.skill import bio_allowed
    from export.skill_compiler import lexical_sum, lexical_tensor
    from export.student import crf_nll

    torch.manual_seed(seed)
    ti = {t: i for i, t in enumerate(tags)}
    lex, gold = [], []
    for u in rows:
        tk = base.tokenize(u.text)
        if tk.words:
            lex.append(lexical_ids([w for w, _, _ in tk.words]))
            gold.append([ti.get(t, 0) for t in spans_to_bio(tk.words, u.slots)])
    k = len(tags)
    if not gold:
        return np.zeros((BUCKETS, k), np.float32), np.zeros(k, np.float32), np.zeros((k + 1, k), np.float32)
    n_max = max(len(t) for t in gold)
    ids = lexical_tensor(lex, n_max)
    tgt = torch.zeros((len(gold), n_max), dtype=torch.long)
    msk = torch.zeros((len(gold), n_max))
    for i, t in enumerate(gold):
        tgt[i, : len(t)] = torch.tensor(t)
        msk[i, : len(t)] = 1
    w = torch.zeros((BUCKETS + 1, k), requires_grad=True)
    b = torch.zeros(k, requires_grad=True)
    tr = torch.zeros((k + 1, k), requires_grad=True)
    mask_t = torch.tensor(np.where(bio_allowed(tags), 0.0, -1e4), dtype=torch.float32)
    opt = torch.optim.Adam([w, b, tr], lr=0.05)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        pick = torch.randperm(len(gold), generator=gen)[:batch] if len(gold) > batch else slice(None)
        m = msk[pick]
        n = int(m.sum(1).max())  # a mini-batch is padded only to its own longest row
        em = lexical_sum(ids[pick][:, :n], w) + b
        loss = crf_nll(em, tgt[pick][:, :n], m[:, :n], tr + mask_t).sum() / m.sum() + l2 * w.pow(2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return w.detach().numpy()[:BUCKETS], b.detach().numpy(), tr.detach().numpy()


def add_expert(path: Path, base_manifest: dict, expert: tuple, weight: float = WEIGHT) -> dict:
    """Rewrite the skill file at ``path`` with the expert folded in (atomically); returns its manifest."""
    w, b, tr = expert

    from export.skill_compiler import pack_weights

    def fold(members: dict[str, bytes]) -> None:
        labels = json.loads(members["labels.json"])
        arrays = npz_arrays(members["weights.npz"])
        if "lex_w" in arrays:
            raise ValueError(f"{path} already has lexical features")
        arrays.update(pack_weights({"lex_w": weight * w}))
        arrays["slot_b"] = (arrays["slot_b"] + weight * b).astype(np.float32)
        learned = arrays.get("transitions", np.zeros_like(tr))
        arrays["transitions"] = (learned + weight * tr).astype(np.float32)
        labels["lexical"] = TEMPLATES
        labels["lexical_expert"] = {"weight": weight}
        members["labels.json"] = json.dumps(labels).encode()
        members["weights.npz"] = npz_bytes(arrays)

    return rewrite_skill(path, base_manifest, fold)


def intent_negatives(corpus, skill: str) -> list[Utterance]:
    """The rows a skill's intent expert learns NONE from: the other rows of its data set (other skills' and
    out-of-scope rows), or, for a data set of one skill without out-of-scope rows, every other row of the corpus."""
    for rows in corpus.train_by_set.values():
        if any(u.skill == skill for u in rows):
            own_set = [u for u in rows if u.skill != skill]
            if own_set:
                return own_set
    return [u for u in corpus.train if u.skill != skill]


def fit_intent_expert(
    base, rows: list[Utterance], negatives: list[Utterance], intents: list[str], c: float = INTENT_C, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(weights [BUCKETS, K], bias [K]) of a logistic regression from n-gram buckets to ``intents`` (last: NONE);
    ``rows`` are labelled with their intents, ``negatives`` with NONE."""
    import torch

    torch.manual_seed(seed)
    k = len(intents)
    index = {name: i for i, name in enumerate(intents)}
    data = [(u, index.get(u.intent, k - 1)) for u in rows] + [(u, k - 1) for u in negatives]
    flat, offsets, weights, target = [], [], [], []
    for u, y in data:
        ids = intent_ids([w for w, _, _ in base.tokenize(u.text).words])
        offsets.append(len(flat))
        flat += ids
        weights += [1.0 / np.sqrt(len(ids))] * len(ids) if ids else []
        target.append(y)
    if not data:
        return np.zeros((BUCKETS, k), np.float32), np.zeros(k, np.float32)
    flat_t, off_t = torch.tensor(flat, dtype=torch.long), torch.tensor(offsets, dtype=torch.long)
    wts_t, y_t = torch.tensor(weights, dtype=torch.float32), torch.tensor(target)
    w = torch.zeros((BUCKETS, k), requires_grad=True)
    b = torch.zeros(k, requires_grad=True)
    l2 = 1.0 / (2.0 * c * len(data))  # mean loss + l2 |w|^2 == scikit-learn's C-weighted sum, divided by n
    opt = torch.optim.LBFGS([w, b], lr=1.0, max_iter=200, history_size=20, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        z = torch.nn.functional.embedding_bag(flat_t, w, off_t, mode="sum", per_sample_weights=wts_t) + b
        loss = torch.nn.functional.cross_entropy(z, y_t) + l2 * w.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach().numpy(), b.detach().numpy()


def add_intent_expert(path: Path, base_manifest: dict, expert: tuple, weight: float = INTENT_WEIGHT) -> dict:
    """Rewrite the skill file at ``path`` with the intent expert (scaled by ``weight``, int8 with a scale per
    intent; replaces an earlier one); returns its manifest."""
    w, b = expert
    q, scale = quantize_columns(weight * np.asarray(w, np.float32))

    def fold(members: dict[str, bytes]) -> None:
        labels = json.loads(members["labels.json"])
        arrays = npz_arrays(members["weights.npz"])
        if q.shape != (BUCKETS, len(labels["intents"])):
            raise ValueError(f"{path}: intent expert shape {q.shape} does not match {len(labels['intents'])} intents")
        arrays["intent_lex_w"] = q
        arrays["intent_lex_s"] = scale
        arrays["intent_lex_b"] = (weight * np.asarray(b, np.float32)).astype(np.float32)
        labels["intent_lexical"] = INTENT_TEMPLATES
        labels["intent_expert"] = {"weight": weight}
        members["labels.json"] = json.dumps(labels).encode()
        members["weights.npz"] = npz_bytes(arrays)

    return rewrite_skill(path, base_manifest, fold)


def main(argv: list[str] | None = None) -> int:
    from edge_nlu.runtime.base import Base
    from export.corpus import load_corpus

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="a built model folder (base/ and skills/)")
    ap.add_argument("--config", required=True, help="the build config whose data sets trained the model")
    ap.add_argument("--skills", help="comma-separated skills (default: every skill of the model)")
    ap.add_argument("--kind", choices=("slots", "intents"), default="slots", help="which expert to add")
    ap.add_argument("--weight", type=float, help=f"scale of the expert's scores (default {WEIGHT} / {INTENT_WEIGHT})")
    ap.add_argument("--l2", type=float, default=L2, help="L2 strength of the slot CRF")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    model = Path(args.model)
    cfg = json.loads(Path(args.config).read_text())
    corpus = load_corpus(cfg["sets"])
    base = Base(model / "base")
    paths = sorted((model / "skills").glob("*.skill"))
    if args.skills:
        want = set(args.skills.split(","))
        paths = [p for p in paths if p.stem in want]
    for p in paths:
        t0 = time.time()
        sm, members = read_skill(p, base.manifest)
        labels = json.loads(members["labels.json"])
        rows = [u for u in corpus.train if u.skill == labels["name"] and u.intent]
        if args.kind == "intents":
            neg = intent_negatives(corpus, labels["name"])
            expert = fit_intent_expert(base, rows, neg, labels["intents"])
            add_intent_expert(p, base.manifest, expert, INTENT_WEIGHT if args.weight is None else args.weight)
        else:
            expert = fit_lexical_crf(base, rows, labels["tags"], l2=args.l2)
            add_expert(p, base.manifest, expert, WEIGHT if args.weight is None else args.weight)
        log.info("%s: lexical %s expert from %d rows, %.1f s", p.stem, args.kind, len(rows), time.time() - t0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
