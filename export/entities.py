"""The base's generic entity tagger: ``python -m export.entities --model DIR --config CONFIG``.

A softmax over BIO tags of every slot type the base was trained with ("date", "place_name", "artist_name", ...),
on the frozen int8 encoder's ``"context"`` slot features. A skill compiled later from a few dozen utterances uses
its per-word distribution as extra slot features (``"context+entities"``): instead of learning from ten examples
what a time or a city looks like, the skill's CRF only has to map the base's entity types onto its own slots.
Stored as ``base/entities.npz`` (float16 weights), listed with its sha256 in the base manifest; adding it does not
change the base's identity, so skills built before stay valid.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

import numpy as np

from edge_nlu.definitions.model import Utterance
from edge_nlu.runtime.artifacts import add_base_file
from edge_nlu.runtime.skill import slot_features
from edge_nlu.words import spans_to_bio

log = logging.getLogger(__name__)


def entity_tags(rows: list[Utterance]) -> list[str]:
    """ "O" then B-/I- of every slot name in ``rows`` (slot names are shared across skills: "date" is one type)."""
    names = sorted({s.slot for u in rows for s in u.slots})
    return ["O"] + [f"{p}-{n}" for n in names for p in ("B", "I")]


def context_features(base, rows: list[Utterance]) -> tuple[list[np.ndarray], list[list]]:
    """``"context"`` slot features of each row on ``base`` and its words (for BIO targets)."""
    feats, words = [], []
    for u in rows:
        tk = base.tokenize(u.text)
        seq = base.sequence(tk)
        st, _ = base.run([seq])
        emb = base.embed(seq.ids)
        feats.append(slot_features("context", st[0], seq.first, emb, seq.case))
        words.append(tk.words)
    return feats, words


def train_entity_head(
    base, rows: list[Utterance], seed: int = 0, epochs: int = 6, batch: int = 2048, l2: float = 1e-5
) -> dict:
    """Fit the tagger on ``rows`` (rows of data sets with slot annotations); returns arrays and a report."""
    import torch

    t0 = time.time()
    tags = entity_tags(rows)
    ti = {t: i for i, t in enumerate(tags)}
    feats, words = context_features(base, rows)
    x = np.concatenate([f for f in feats if len(f)]).astype(np.float32)
    y = np.array([ti[t] for u, w in zip(rows, words) for t in spans_to_bio(w, u.slots)], dtype=np.int64)
    assert len(x) == len(y), (len(x), len(y))
    log.info("entity tagger: %d words, %d features, %d tags (%.1f s features)", *x.shape, len(tags), time.time() - t0)
    torch.manual_seed(seed)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    mu = xt.mean(0)
    sd = xt.std(0).clamp_min(1e-3)  # standardised inside training, folded into the weights at the end
    lin = torch.nn.Linear(x.shape[1], len(tags))
    opt = torch.optim.Adam(lin.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(seed)
    for ep in range(epochs):
        perm = torch.randperm(len(xt), generator=g)
        total = 0.0
        for i in range(0, len(perm), batch):
            j = perm[i : i + batch]
            loss = torch.nn.functional.cross_entropy(lin((xt[j] - mu) / sd), yt[j]) + l2 * lin.weight.pow(2).sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(j)
        log.info("entity tagger epoch %d/%d: loss %.4f", ep + 1, epochs, total / len(perm))
    with torch.no_grad():
        w = (lin.weight / sd).T.numpy()
        b = (lin.bias - (lin.weight * (mu / sd)).sum(1)).numpy()
        acc = float(((xt @ torch.from_numpy(w) + torch.from_numpy(b)).argmax(1) == yt).float().mean())
    return {
        "w": w.astype(np.float16),
        "b": b.astype(np.float32),
        "tags": np.array(tags),
        "report": {
            "words": int(len(x)),
            "tags": len(tags),
            "train_word_accuracy": round(acc, 4),
            "seconds": round(time.time() - t0, 1),
        },
    }


def slot_rows(rows: list[Utterance]) -> list[Utterance]:
    """Rows of skills that annotate slots at all (CLINC150 has none: its words are unlabelled, not "O")."""
    with_slots = {u.skill for u in rows if u.slots}
    return [u for u in rows if u.skill in with_slots]


def add_entity_head(base_dir: Path, rows: list[Utterance], seed: int = 0) -> dict:
    """Train the tagger on ``rows`` and add it to the base in ``base_dir``; returns the report."""
    from edge_nlu.runtime.base import Base

    base = Base(base_dir, verify=False)
    out = train_entity_head(base, slot_rows(rows), seed)
    np.savez(base_dir / "entities.npz", w=out["w"], b=out["b"], tags=out["tags"])
    add_base_file(base_dir, "entities.npz", {"entities": {"tags": len(out["tags"]), **out["report"]}})
    log.info("entity tagger: %s", json.dumps(out["report"]))
    return out["report"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, help="a built model folder (with base/)")
    ap.add_argument("--config", required=True, help="the build config it was built with (its data sets)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from export.build import DEFAULTS
    from export.corpus import load_corpus

    cfg = {**DEFAULTS, **json.loads(Path(args.config).read_text())}
    corpus = load_corpus(cfg["sets"], limit_per_skill=cfg.get("limit_per_skill"), seed=cfg["seed"])
    rep = add_entity_head(Path(args.model) / "base", corpus.train, cfg["seed"])
    rp = Path(args.model) / "build_report.json"
    if rp.exists():
        report = json.loads(rp.read_text())
        report.setdefault("stages", {})["entity_tagger"] = {"seconds": rep["seconds"]}
        report["entities"] = rep
        rp.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
