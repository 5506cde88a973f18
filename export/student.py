"""The student: shared int8-able embeddings + a small BiLSTM encoder, with per-skill heads and embedding patches.

Shared (the base): word-piece embedding table (initialised by an SVD projection of the teacher's table) and the
BiLSTM encoder, trained on every skill of the build at once. Per skill: an intent head with an extra "none"
class (trained on the other skills' utterances as negatives, so routing can compare skills and reject
out-of-scope), a slot head over the skill's BIO tags, and patch rows: embeddings of words the shared vocabulary
lacks or splits badly, appended after the shared table at build time and overlaid at run time.

Training mixes hard labels with the teacher's soft distributions (temperature T) restricted to each skill.
"""

from __future__ import annotations

import logging
import math
import random
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from edge_nlu.runtime.skill import bio_allowed
from edge_nlu.words import N_SHAPES, lower_shape, word_key
from export.corpus import OOS, encode, length_batches

log = logging.getLogger(__name__)

NONE = "__none__"


@dataclass
class SkillLabels:
    """Label maps of one skill: intents (last one is NONE) and BIO tags (first is O)."""

    name: str
    intents: list[str]
    tags: list[str]
    patch: dict[str, int] = field(default_factory=dict)  # word -> local patch row
    # intent -> the slots it may carry (joint intent-slot decoding: edge_nlu.runtime.skill.JOINT_CANDIDATES)
    intent_slots: dict[str, list[str]] = field(default_factory=dict)
    # the skill's own joint decoding weight (the runtime's default uses it; None: off): a build config's
    # "joint_weights" gives one per data set, chosen by cross-validation on train (RESULTS, joint decoding)
    joint_weight: float | None = None

    @classmethod
    def from_rows(cls, name: str, rows) -> SkillLabels:
        intents = sorted({u.intent for u in rows if u.intent not in (None, OOS)}) + [NONE]
        slots = sorted({s.slot for u in rows for s in u.slots})
        return cls(
            name,
            intents,
            ["O"] + [f"{p}-{s}" for s in slots for p in ("B", "I")],
            intent_slots=intent_slots_of(rows, MIN_EXPECTED),
        )


# an intent whose training rows lack a slot may still carry it at parse time unless the slot was expected at least
# this many times among those rows (its share of all rows x the intent's rows): absent that often is evidence
MIN_EXPECTED = 5.0


def intent_slots_of(rows, min_expected: float | None = None) -> dict[str, list[str]]:
    """intent -> the sorted slot names it may carry: those its rows have, plus (with ``min_expected``) the slots
    too rare in the skill for their absence from the intent's rows to say anything."""
    seen: dict[str, set[str]] = {}
    n_rows: dict[str, int] = {}
    with_slot: dict[str, int] = {}
    for u in rows:
        if u.intent not in (None, OOS):
            names = {s.slot for s in u.slots}
            seen.setdefault(u.intent, set()).update(names)
            n_rows[u.intent] = n_rows.get(u.intent, 0) + 1
            for k in names:
                with_slot[k] = with_slot.get(k, 0) + 1
    if min_expected is not None:
        n = sum(n_rows.values())
        for intent, have in seen.items():
            have.update(k for k, r in with_slot.items() if n_rows[intent] * r / n < min_expected)
    return {k: sorted(v) for k, v in sorted(seen.items())}


ENCODERS = ("lstm", "gru", "cnn", "transformer")


class _Attention(nn.Module):
    """One pre-norm transformer block (self-attention + feed-forward), written out so it exports to plain ONNX ops
    (MatMul, Softmax, LayerNorm) that onnxruntime's dynamic int8 quantization understands."""

    def __init__(self, width: int, heads: int, ff: int, dropout: float) -> None:
        super().__init__()
        self.heads = heads
        self.root = math.sqrt(width // heads)
        self.norm1 = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)
        self.norm2 = nn.LayerNorm(width)
        self.ff = nn.Sequential(nn.Linear(width, ff), nn.GELU(), nn.Linear(ff, width))
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, pad: torch.Tensor | None) -> torch.Tensor:
        b, t, w = x.shape
        q, k, v = self.qkv(self.norm1(x)).reshape(b, t, 3, self.heads, -1).permute(2, 0, 3, 1, 4).unbind(0)
        att = q @ k.transpose(-1, -2) / self.root
        if pad is not None:  # [B, T] True where padded: no query attends to padding
            att = att.masked_fill(pad[:, None, None, :], -1e4)
        y = (torch.softmax(att, -1) @ v).transpose(1, 2).reshape(b, t, w)
        x = x + self.drop(self.out(y))
        return x + self.drop(self.ff(self.norm2(x)))


class Encoder(nn.Module):
    """Embeddings in -> contextual encoder -> per-token states [B, T, 2H] and a pooled vector (mean ‖ max) [B, 4H].

    ``kind``: "lstm" (the shipped BiLSTM), "gru" (BiGRU), "cnn" (``layers`` residual dilated convolutions, kernel
    3) or "transformer" (``layers`` pre-norm blocks, 4 heads, learned positions). Every kind gives the same output
    widths, so heads, skills and the runtime do not depend on it (benchmarks.encoder compares them)."""

    def __init__(
        self, emb_dim: int, hidden: int, layers: int = 1, dropout: float = 0.25, kind: str = "lstm", max_len: int = 64
    ) -> None:
        super().__init__()
        if kind not in ENCODERS:
            raise ValueError(f"encoder must be one of {', '.join(ENCODERS)}, not {kind!r}")
        self.kind = kind
        self.case = nn.Embedding(N_SHAPES, emb_dim)
        nn.init.normal_(self.case.weight, std=0.05)
        width = 2 * hidden
        if kind in ("lstm", "gru"):
            rnn = nn.LSTM if kind == "lstm" else nn.GRU
            self.lstm = rnn(
                emb_dim,
                hidden,
                num_layers=layers,
                bidirectional=True,
                batch_first=True,
                dropout=dropout if layers > 1 else 0.0,
            )
        else:
            self.inp = nn.Linear(emb_dim, width)
            if kind == "cnn":
                self.convs = nn.ModuleList(
                    nn.Conv1d(width, width, 3, padding=2**i, dilation=2**i) for i in range(layers)
                )
            else:
                self.pos = nn.Embedding(max_len, width)
                nn.init.normal_(self.pos.weight, std=0.02)
                self.blocks = nn.ModuleList(_Attention(width, 4, width, dropout) for _ in range(layers))
                self.norm = nn.LayerNorm(width)
        self.drop = nn.Dropout(dropout)

    def _contextual(self, x: torch.Tensor, pad: torch.Tensor | None) -> torch.Tensor:
        """cnn / transformer states [B, T, 2H]; ``pad`` [B, T] True at padding (None: no padding)."""
        h = self.inp(x)
        keep = None if pad is None else (~pad).unsqueeze(-1).to(h.dtype)
        if self.kind == "cnn":
            for conv in self.convs:
                if keep is not None:
                    h = h * keep  # padding contributes nothing to its neighbours' windows
                h = h + self.drop(torch.relu(conv(h.transpose(1, 2)).transpose(1, 2)))
            return h
        h = h + self.pos(torch.arange(h.shape[1], device=h.device))[None]
        for block in self.blocks:
            h = block(h, pad)
        return self.norm(h)

    def forward(self, emb: torch.Tensor, case: torch.Tensor, lengths: torch.Tensor | None = None):
        emb = emb + self.case(case)
        if lengths is not None:
            mask = (torch.arange(emb.shape[1])[None, :] < lengths[:, None]).unsqueeze(-1)
            if self.kind in ("lstm", "gru"):
                packed = pack_padded_sequence(emb, lengths.cpu(), batch_first=True, enforce_sorted=False)
                out, _ = self.lstm(packed)
                out, _ = pad_packed_sequence(out, batch_first=True, total_length=emb.shape[1])
            else:
                out = self._contextual(emb, ~mask.squeeze(-1)) * mask
            mean = (out * mask).sum(1) / lengths[:, None].clamp(min=1)
            mx = out.masked_fill(~mask, -1e4).max(1).values
        else:  # export path: one unpadded utterance (or equal-length batch)
            out = self.lstm(emb)[0] if self.kind in ("lstm", "gru") else self._contextual(emb, None)
            mean = out.mean(1)
            mx = out.max(1).values
        return out, torch.cat([mean, mx], -1)


class Student(nn.Module):
    """Shared embeddings + encoder, and per-skill heads and patch rows (patch ids follow the shared table)."""

    def __init__(
        self,
        init_emb: np.ndarray,
        skills: list[SkillLabels],
        hidden: int = 128,
        layers: int = 1,
        patch_init: dict[str, np.ndarray] | None = None,
        dropout: float = 0.25,
        encoder: str = "lstm",
        max_len: int = 64,
    ) -> None:
        super().__init__()
        self.vocab = init_emb.shape[0]
        self.emb_dim = init_emb.shape[1]
        self.skills = skills
        rows = [torch.tensor(init_emb, dtype=torch.float32)]
        self.patch_offset: dict[str, int] = {}
        off = self.vocab
        for s in skills:
            self.patch_offset[s.name] = off
            if s.patch:
                rows.append(torch.tensor(patch_init[s.name], dtype=torch.float32))
                off += len(s.patch)
        self.emb = nn.Embedding(off, self.emb_dim, padding_idx=0)
        with torch.no_grad():
            self.emb.weight.copy_(torch.cat(rows))
        self.emb_drop = nn.Dropout(dropout)
        self.encoder = Encoder(self.emb_dim, hidden, layers, dropout, encoder, max_len)
        d_tok, d_pool = 2 * hidden, 4 * hidden
        self.intent = nn.ModuleDict({s.name: nn.Linear(d_pool, len(s.intents)) for s in skills})
        self.slot = nn.ModuleDict({s.name: nn.Linear(d_tok, len(s.tags)) for s in skills})
        # CRF transition scores per skill ([n+1, n], last row = start), invalid BIO moves masked to -1e4
        self.trans = nn.ParameterDict({s.name: nn.Parameter(torch.zeros(len(s.tags) + 1, len(s.tags))) for s in skills})
        self.trans_mask = {
            s.name: torch.tensor(np.where(bio_allowed(s.tags), 0.0, -1e4), dtype=torch.float32) for s in skills
        }

    def encode(self, ids: torch.Tensor, case: torch.Tensor, lengths: torch.Tensor):
        return self.encoder(self.emb_drop(self.emb(ids)), case, lengths)


def crf_nll(emissions: torch.Tensor, tags: torch.Tensor, mask: torch.Tensor, trans: torch.Tensor) -> torch.Tensor:
    """Negative log-likelihood of a linear-chain CRF, batched: emissions [B, N, K], tags/mask [B, N].

    The forward recursion runs in exp space as a [B, K] x [K, K] matmul per position (row maxima and the largest
    transition taken out first), not as a logsumexp over a [B, K, K] tensor: the same values to float rounding
    (tests), far less time with many tags (a 2,048-row SNIPS step, 79 tags: ~27 s -> ~0.1 s with its backward).
    A state whose every path is more than ~69 nats below the row's best is floored there (its probability is
    < 1e-30 of the best anyway)."""
    b, n, k = emissions.shape
    start, tr = trans[k], trans[:k]
    ar = torch.arange(b)
    score = start[tags[:, 0]] + emissions[ar, 0, tags[:, 0]]
    alpha = start[None] + emissions[:, 0]
    t_max = tr.detach().max()
    e_tr = torch.exp(tr - t_max)  # masked (-1e4) moves become exact zeros
    for i in range(1, n):
        m = mask[:, i]
        step = tr[tags[:, i - 1], tags[:, i]] + emissions[ar, i, tags[:, i]]
        score = score + step * m
        a_max = alpha.detach().max(1, keepdim=True).values
        s = torch.exp(alpha - a_max) @ e_tr
        nxt = torch.log(s.clamp_min(1e-30)) + a_max + t_max + emissions[:, i]
        alpha = torch.where(m[:, None] > 0, nxt, alpha)
    return torch.logsumexp(alpha, 1) - score


@dataclass
class Example:
    skill: str | None  # None: out-of-scope row (negative for every skill)
    ids: list[int]
    case: list[int]
    first: list[int]
    intent: int  # index in the skill's intents (-1 for oos)
    tags: list[int]
    soft_intent: dict[str, np.ndarray] | None = None  # skill -> distribution over that skill's intents (+none)
    soft_tags: np.ndarray | None = None  # [n_words, n_tags of own skill]


def encode_with_patch(tok, u, labels: SkillLabels | None, offset: int, max_len: int = 64):
    """Encode, then replace each patched word's pieces by its single patch row."""
    enc = encode(tok, u, max_len)
    if not labels or not labels.patch:
        return enc
    from edge_nlu.words import split_words

    words = split_words(u if isinstance(u, str) else u.text)
    ids, first, case = [enc.ids[0]], [], [0]
    for k, p in enumerate(enc.first):
        end = enc.first[k + 1] if k + 1 < len(enc.first) else len(enc.ids) - 1
        first.append(len(ids))
        w = word_key(words[k][0])
        if w in labels.patch:
            ids.append(offset + labels.patch[w])
            case.append(enc.case[p])
        else:
            ids.extend(enc.ids[p:end])
            case.extend(enc.case[p:end])
    ids.append(enc.ids[-1])
    case.append(0)
    enc.ids, enc.first, enc.case = ids, first, case
    return enc


def make_examples(tok, rows, skills: dict[str, SkillLabels], model: Student, max_len: int = 64) -> list[Example]:
    out = []
    for u in rows:
        lab = skills.get(u.skill) if u.skill else None
        if u.skill and lab is None:
            continue
        enc = encode_with_patch(tok, u, lab, model.patch_offset.get(u.skill, 0) if lab else 0, max_len)
        if lab is None or u.intent in (None, OOS):
            out.append(Example(None, enc.ids, enc.case, enc.first, -1, [0] * len(enc.first)))
            continue
        ti = {t: i for i, t in enumerate(lab.tags)}
        out.append(
            Example(
                u.skill, enc.ids, enc.case, enc.first, lab.intents.index(u.intent), [ti.get(t, 0) for t in enc.tags]
            )
        )
    return out


def drop_pieces(ids: list[int], p: float, rng: random.Random) -> list[int]:
    """Blank a share ``p`` of the pieces between [CLS] and [SEP] (id 0: the [PAD] row, which training never moves, so
    a blanked piece reads as one fixed unknown word); p = 0 draws nothing."""
    if p <= 0 or len(ids) <= 2:
        return ids
    return [ids[0]] + [0 if rng.random() < p else i for i in ids[1:-1]] + [ids[-1]]


def group_kd(exs: list[Example], z: torch.Tensor, group, temperature: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Per row: the distillation loss of the routing logits ``z`` (the group's real intents, in group order) towards
    the teacher's distribution over the same intents, and the teacher's mass on the group (before renormalising)."""
    soft = torch.tensor(np.stack([np.concatenate([e.soft_intent[g][:-1] for g in group]) for e in exs]))
    mass = soft.sum(-1)
    soft = soft / mass[:, None].clamp(min=1e-9)
    return -(soft * torch.log_softmax(z / temperature, -1)).sum(-1) * temperature**2, mass


def train_student(
    model: Student,
    examples: list[Example],
    epochs: int = 10,
    batch_size: int = 32,
    lr: float = 2e-3,
    emb_lr: float = 1e-3,
    neg_weight: float = 0.3,
    alpha: float = 0.5,
    temperature: float = 2.0,
    seed: int = 0,
    frozen_shared: bool = False,
    lower_p: float = 0.3,
    crf: bool = True,
    route_weight: float = 0.0,
    route_groups: dict[str, list[str]] | None = None,
    route_kd_only: bool = False,
    route_xset: float = 0.0,
    ema_epochs: float = 0.0,
    word_drop: float = 0.0,
    word_drop_skills: list[str] | None = None,
    progress: str = "student",
) -> dict:
    """Multi-skill training: own-skill CE (+KD), other skills' heads pushed to NONE, slots on own skill.

    ``route_weight`` > 0 adds a routing loss for skills that share a data set (``route_groups``: skill -> the
    skills routed among together): the runtime routes by each skill's in-skill probabilities, so their log-probs
    over all the group's real intents are trained as one softmax whose target is the row's own skill and intent.
    The NONE loss alone only teaches each head its own boundary; this one ranks the heads against each other.
    With teacher soft labels, the routing loss distils the teacher's one softmax over the group's intents (the
    multi-domain teacher routes by construction); ``route_kd_only`` keeps the per-skill and slot losses on hard labels.
    ``route_xset`` > 0 (needs soft labels) also distils every *other* group's routing on each batch's rows: the
    teacher's distribution over that group's intents, weighted by the mass it puts on the group, so each group's
    ranking of its heads is taught on far more (and more varied) text than its own rows.
    ``ema_epochs`` > 0 keeps an exponential moving average of the weights (half-life in epochs, from the end of
    warm-up) and returns the model with the averaged weights: one run's answer depends less on where its last steps
    happened to land. ``word_drop`` > 0 blanks that share of word pieces (the [PAD] row, casing kept) in training, so
    intents and slots are read from context as well as from the words themselves; ``word_drop_skills`` limits it to
    those skills' rows (None: every row).
    """
    torch.manual_seed(seed)
    rng = random.Random(seed)
    skills = model.skills
    names = [s.name for s in skills]
    by_name = {s.name: s for s in skills}
    if frozen_shared:
        for p in list(model.encoder.parameters()):
            p.requires_grad_(False)
    shared_emb = [model.emb.weight]
    head_params = [p for n, p in model.named_parameters() if n.startswith(("intent.", "slot.", "trans."))]
    enc_params = [p for p in model.encoder.parameters() if p.requires_grad]
    groups = [{"params": head_params, "lr": lr}, {"params": shared_emb, "lr": emb_lr}]
    if enc_params:
        groups.append({"params": enc_params, "lr": lr})
    opt = torch.optim.Adam(groups)
    per_skill: dict[str | None, int] = {}
    for e in examples:
        per_skill[e.skill] = per_skill.get(e.skill, 0) + 1
    steps_per_epoch = sum(math.ceil(n / batch_size) for n in per_skill.values())
    total = steps_per_epoch * epochs
    warmup = 0.1  # share of the steps the one-cycle schedule warms up for; weight averaging starts after it
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=[g["lr"] for g in groups], total_steps=total, pct_start=warmup
    )
    # routing loss: each skill's first column among its group's real intents (a skill is in one group)
    route_off: dict[str, int] = {}
    all_groups = sorted({tuple(g) for g in (route_groups or {}).values() if len(g) > 1})
    for group in all_groups:
        start = 0
        for name in group:
            route_off[name] = start
            start += len(by_name[name].intents) - 1
    ema_start = int(total * warmup)
    drop_for = None if word_drop_skills is None else set(word_drop_skills)
    ema = None
    if ema_epochs > 0:
        decay = 0.5 ** (1.0 / max(ema_epochs * steps_per_epoch, 1.0))
        # torch's EMA (first update copies, then lerp towards the weights by 1 - decay each step)
        ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=False)
    t0, step = time.time(), 0
    if frozen_shared:
        model.encoder.eval()
    else:
        model.train()
    for ep in range(epochs):
        # one skill per batch (one slot head and CRF per step), similar lengths inside a batch, batches shuffled
        by_skill: dict[str | None, list[int]] = {}
        for k, e in enumerate(examples):
            by_skill.setdefault(e.skill, []).append(k)
        batches = []
        for key in sorted(by_skill, key=str):
            batches += length_batches(by_skill[key], lambda k: len(examples[k].ids), batch_size, 20, rng)
        rng.shuffle(batches)
        tot_loss = 0.0
        for g in batches:
            exs = [examples[k] for k in g]
            n = max(len(e.ids) for e in exs)
            ids = torch.zeros((len(exs), n), dtype=torch.long)
            case = torch.zeros((len(exs), n), dtype=torch.long)
            for r, e in enumerate(exs):
                p_drop = word_drop if drop_for is None or e.skill in drop_for else 0.0
                ids[r, : len(e.ids)] = torch.tensor(drop_pieces(e.ids, p_drop, rng))
                # lowercase augmentation: ASR output has no casing, so the model must not depend on it
                c = e.case if rng.random() >= lower_p else [lower_shape(x) for x in e.case]
                case[r, : len(e.ids)] = torch.tensor(c)
            lengths = torch.tensor([len(e.ids) for e in exs])
            tok_states, pooled = model.encode(ids, case, lengths)
            pooled = model.encoder.drop(pooled)
            tok_states = model.encoder.drop(tok_states)
            loss = torch.zeros(())
            logps: dict[str, torch.Tensor] = {}
            # intents: every skill's head on every row
            for s in skills:
                logits = model.intent[s.name](pooled)
                logp = torch.log_softmax(logits, -1)
                logps[s.name] = logp
                own = torch.tensor([e.skill == s.name for e in exs])
                target = torch.tensor([e.intent if e.skill == s.name else len(s.intents) - 1 for e in exs])
                hard = -logp.gather(1, target[:, None]).squeeze(1)
                w = torch.where(own, torch.ones(()), torch.full((), neg_weight))
                if exs[0].soft_intent is not None and not route_kd_only:
                    soft = torch.tensor(np.stack([e.soft_intent[s.name] for e in exs]))
                    logp_t = torch.log_softmax(logits / temperature, -1)
                    kd = -(soft * logp_t).sum(-1) * temperature**2
                    hard = alpha * hard + (1 - alpha) * kd
                loss = loss + (hard * w).sum() / len(exs)
            group = (route_groups or {}).get(exs[0].skill or "", [])
            if route_weight > 0 and len(group) > 1:  # one skill per batch: every row has the same group
                z = torch.cat([logps[name][:, :-1] for name in group], -1)
                target = torch.tensor([route_off[exs[0].skill] + e.intent for e in exs])
                route = nn.functional.cross_entropy(z, target, reduction="none")
                if exs[0].soft_intent is not None:  # the teacher's one softmax over the group's intents
                    kd, _ = group_kd(exs, z, group, temperature)
                    route = alpha * route + (1 - alpha) * kd
                loss = loss + route_weight * route.mean()
            if route_xset > 0 and exs[0].soft_intent is not None:
                for other in all_groups:
                    if exs[0].skill in other:
                        continue
                    z = torch.cat([logps[name][:, :-1] for name in other], -1)
                    kd, mass = group_kd(exs, z, other, temperature)
                    loss = loss + route_xset * (mass * kd).mean()
            # slots: own skill's head on its rows
            for name in {e.skill for e in exs if e.skill}:
                rows = [r for r, e in enumerate(exs) if e.skill == name]
                pos_r = [r for r in rows for _ in exs[r].first]
                pos_t = [p for r in rows for p in exs[r].first]
                if not pos_r:
                    continue
                states = tok_states[pos_r, pos_t]
                logits = model.slot[name](states)
                target = torch.tensor([t for r in rows for t in exs[r].tags])
                if crf and logits.shape[-1] > 1:
                    nw = max(len(exs[r].first) for r in rows)
                    em = torch.zeros((len(rows), nw, logits.shape[-1]))
                    tg = torch.zeros((len(rows), nw), dtype=torch.long)
                    mk = torch.zeros((len(rows), nw))
                    k = 0
                    for j, r in enumerate(rows):
                        n_w = len(exs[r].first)
                        em[j, :n_w] = logits[k : k + n_w]
                        tg[j, :n_w] = target[k : k + n_w]
                        mk[j, :n_w] = 1
                        k += n_w
                    tr = model.trans[name] + model.trans_mask[name]
                    loss = loss + alpha * crf_nll(em, tg, mk, tr).sum() / len(exs)
                lp = torch.log_softmax(logits, -1)
                hard = -lp.gather(1, target[:, None]).squeeze(1)
                if exs[rows[0]].soft_tags is not None and not route_kd_only:
                    soft = torch.tensor(np.concatenate([exs[r].soft_tags for r in rows]))
                    kd = -(soft * torch.log_softmax(logits / temperature, -1)).sum(-1) * temperature**2
                    hard = alpha * hard + (1 - alpha) * kd
                loss = loss + hard.sum() / len(exs)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_([p for gr in groups for p in gr["params"]], 5.0)
            opt.step()
            sched.step()
            step += 1
            if ema is not None and step >= ema_start:
                ema.update_parameters(model)
            tot_loss += loss.item()
        rate = step / (time.time() - t0)
        log.info(
            "%s epoch %d/%d loss %.4f (%.1f steps/s, eta %.0f s)",
            progress,
            ep + 1,
            epochs,
            tot_loss / len(batches),
            rate,
            (total - step) / rate,
        )
    if ema is not None and int(ema.n_averaged) > 0:
        with torch.no_grad():
            for p, a in zip(model.parameters(), ema.module.parameters(), strict=True):
                p.copy_(a)
    model.eval()
    return {"steps": total, "seconds": round(time.time() - t0, 1), "skills": names}
