"""Add a lexical CRF expert to the skills of a built model.

``python -m export.lexical_expert --model DIR --config export/configs/default.json [--skills a,b] [--weight 0.5]``

A MaxEnt-CRF over hashed lexical features (``edge_nlu.runtime.lexical``: words, neighbours, bigrams, affixes,
casing patterns) is trained on each skill's training rows alone and combined with the skill's neural CRF as a
product of experts: emission and transition scores add up, the lexical ones scaled by ``weight`` (chosen on dev).
The runtime needs nothing new: a skill with ``lex_w`` adds its lexical emissions before the log-softmax, and that
softmax shifts every tag of a word by the same amount, so Viterbi decodes exactly the product of both CRFs.
Errors of the two experts differ (the neural one generalises over meanings, the lexical one memorises carrier
phrases), which is why the product beats either alone.

Only skill files change (weights, labels, manifest), atomically one by one; the base and its id stay as they are.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import time
from pathlib import Path

import numpy as np

from edge_nlu.definitions.model import Utterance
from edge_nlu.runtime.artifacts import npz_bytes, read_skill, rewrite_skill
from edge_nlu.runtime.lexical import BUCKETS, TEMPLATES, lexical_ids
from edge_nlu.words import spans_to_bio

log = logging.getLogger("export.lexical_expert")

WEIGHT = 0.5  # chosen on HWU64 dev (python -m benchmarks.lexical_expert)
L2 = 1e-4
STEPS = 150


def fit_lexical_crf(
    base, rows: list[Utterance], tags: list[str], l2: float = L2, steps: int = STEPS, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(bucket weights [BUCKETS, K], tag bias [K], transitions [K+1, K]) of a CRF on lexical features alone."""
    import torch

    from edge_nlu.runtime.skill import bio_allowed
    from export.skill_compiler import lexical_tensor
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
    for _ in range(steps):
        em = torch.nn.functional.embedding(ids, w, padding_idx=BUCKETS).sum(2) + b
        loss = crf_nll(em, tgt, msk, tr + mask_t).sum() / msk.sum() + l2 * w.pow(2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return w.detach().numpy()[:BUCKETS], b.detach().numpy(), tr.detach().numpy()


def add_expert(path: Path, base_manifest: dict, expert: tuple, weight: float = WEIGHT) -> dict:
    """Rewrite the skill file at ``path`` with the expert folded in (atomically); returns its manifest."""
    w, b, tr = expert

    def fold(members: dict[str, bytes]) -> None:
        labels = json.loads(members["labels.json"])
        npz = np.load(io.BytesIO(members["weights.npz"]), allow_pickle=False)
        arrays = {k: npz[k] for k in npz.files}
        if "lex_w" in arrays:
            raise ValueError(f"{path} already has lexical features")
        arrays["lex_w"] = (weight * w).astype(np.float16)
        arrays["slot_b"] = (arrays["slot_b"] + weight * b).astype(np.float32)
        learned = arrays.get("transitions", np.zeros_like(tr))
        arrays["transitions"] = (learned + weight * tr).astype(np.float32)
        labels["lexical"] = TEMPLATES
        labels["lexical_expert"] = {"weight": weight}
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
    ap.add_argument("--weight", type=float, default=WEIGHT, help="scale of the lexical expert's scores")
    ap.add_argument("--l2", type=float, default=L2)
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
        expert = fit_lexical_crf(base, rows, labels["tags"], l2=args.l2)
        add_expert(p, base.manifest, expert, args.weight)
        log.info(
            "%s: lexical expert from %d rows, %d tags, %.1f s", p.stem, len(rows), len(labels["tags"]), time.time() - t0
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
