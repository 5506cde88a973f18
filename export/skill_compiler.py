"""Compile a skill (heads, label maps, embedding patch, catalog) into one verified ``.skill`` file.

Used twice: by the default build for the skills trained jointly with the shared encoder, and by
``edge-nlu build-skill`` for a new skill on an existing base, where the shared encoder is frozen: its int8 encoder
computes features once and only the skill's heads are trained (negatives for the NONE class come from the base's
``negatives.npy``). Patch rows are the teacher's embeddings of the words, projected like the shared table.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from edge_nlu.definitions.model import SkillDefinition
from edge_nlu.runtime.artifacts import npz_bytes, write_skill
from edge_nlu.words import split_words
from export.student import NONE, SkillLabels
from quantize.int8 import quantize_rows

log = logging.getLogger(__name__)

MAX_PATCH = 256


def choose_patch(rows, definition: SkillDefinition | None, shared_tok, teacher_tok, max_rows: int = MAX_PATCH
                 ) -> list[str]:
    """Words the shared vocabulary splits badly (≥3 pieces or [UNK]) but the teacher knows better."""
    counts: Counter = Counter(w.lower() for u in rows for w, _, _ in split_words(u.text))
    if definition is not None:
        for st in definition.slot_types.values():
            for v in st.values:
                for text in [v.value, *v.synonyms]:
                    for w, _, _ in split_words(text):
                        counts[w.lower()] += 2
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
            catalogs[tname] = CatalogResolver.from_slot_type(st).to_dict()
    return slot_types, catalogs


def write_skill_file(
    out: Path,
    labels: SkillLabels,
    weights: dict[str, np.ndarray],
    patch_rows: np.ndarray,
    base_manifest: dict,
    definition: SkillDefinition | None = None,
    temperature: float = 1.0,
    invocation_name: str | None = None,
) -> dict:
    """Write ``out`` atomically (temp file + rename) and return its manifest."""
    slot_types, catalogs = catalog_of(definition, labels)
    words = sorted(labels.patch, key=labels.patch.get)
    if len(words):
        pq, ps = quantize_rows(patch_rows)
    else:
        pq, ps = np.zeros((0, base_manifest["dims"]["emb"]), np.int8), np.zeros((0,), np.float32)
    arrays = {k: np.asarray(v, dtype=np.float32) for k, v in weights.items()}
    arrays.update(patch_q=pq, patch_s=ps)
    members = {
        "labels.json": json.dumps({
            "name": labels.name, "invocation_name": invocation_name, "intents": labels.intents, "tags": labels.tags,
            "temperature": temperature, "slot_types": slot_types,
        }).encode(),
        "weights.npz": npz_bytes(arrays),
        "patch.json": json.dumps({"words": words}).encode(),
        "catalog.json": json.dumps(catalogs, ensure_ascii=False).encode(),
    }
    meta = {
        "name": labels.name,
        "invocation_name": invocation_name,
        "base_id": base_manifest["base_id"],
        "vocab_hash": base_manifest["vocab_hash"],
        "dims": base_manifest["dims"],
        "intents": [i for i in labels.intents if i != NONE],
        "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    os.close(fd)
    try:
        manifest = write_skill(Path(tmp), members, meta)
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return manifest
