"""Evaluation metrics (standard library only).

- :func:`evaluate`: intent accuracy, span-level slot precision/recall/F1 (micro, type + exact character boundaries;
  equal to seqeval/conlleval over word-level BIO when spans align with words), exact match, per-slot scores and, when
  the gold set holds out-of-scope rows, in-scope accuracy and OOS recall/precision.
- :func:`snips2017_slot_scores`: the Snips 2017 custom-intent-engine protocol of ``../shared/data/README.md``.
- :func:`published_snips2017`: the same score computed from the peers' published per-slot precision/recall files.
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from edge_nlu.definitions.model import SlotSpan, Utterance

OOS = "oos"
SNIPS2017_INTENTS = (
    "AddToPlaylist",
    "BookRestaurant",
    "GetWeather",
    "PlayMusic",
    "RateBook",
    "SearchCreativeWork",
    "SearchScreeningEvent",
)
SNIPS2017_SYSTEMS = ("Alexa", "Luis", "Wit", "api.ai", "Snips")
SNIPS2017_SIZES = (10, 20, 50, 70)


def is_oos(intent: str | None) -> bool:
    """Intent None and "oos" both mean out-of-scope."""
    return intent is None or intent == OOS


def _norm_intent(intent: str | None) -> str:
    return OOS if is_oos(intent) else intent  # type: ignore[return-value]


def _div(a: float, b: float) -> float | None:
    """``a / b``, or None when nothing was counted: 0/0 is undefined, not 0 (CLINC150 has no slots to score)."""
    return a / b if b else None


def _div0(a: float, b: float) -> float:
    """``a / b`` with 0/0 = 0: the Snips 2017 protocol's convention (its published figures are computed so)."""
    return a / b if b else 0.0


def _f1_pr(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


def _f1(tp: int, n_gold: int, n_pred: int) -> float | None:
    """2·TP / (gold + predicted): 0 when spans exist but none match, None when there are none on either side."""
    return 2 * tp / (n_gold + n_pred) if n_gold + n_pred else None


def _check_aligned(gold: Sequence[Utterance], pred: Sequence[Utterance]) -> None:
    if len(gold) != len(pred):
        raise ValueError(f"gold has {len(gold)} rows, pred has {len(pred)}")
    for i, (g, p) in enumerate(zip(gold, pred, strict=True)):
        if g.text != p.text:
            raise ValueError(f"row {i}: gold text {g.text!r} != predicted text {p.text!r}")


def _span_key(s: SlotSpan) -> tuple[str, int, int]:
    return (s.slot, s.start, s.end)


def evaluate_skills(gold: Sequence[Utterance], pred: Sequence[Utterance]) -> dict:
    """:func:`evaluate` where a gold row that names its skill is right only with that skill's intent (routing to
    another skill with an intent of the same name is an error); out-of-scope is one class whatever the skill."""

    def key(skill: str | None, intent: str | None, qualify: bool) -> str | None:
        return None if is_oos(intent) else (f"{skill}/{intent}" if qualify else intent)

    g_rows, p_rows = [], []
    for g, p in zip(gold, pred, strict=True):
        q = g.skill is not None
        g_rows.append(Utterance(g.text, key(g.skill, g.intent, q), list(g.slots), g.skill))
        p_rows.append(Utterance(p.text, key(p.skill, p.intent, q), p.slots, p.skill))
    return evaluate(g_rows, p_rows)


def evaluate(gold: Sequence[Utterance], pred: Sequence[Utterance]) -> dict:
    """Scores of ``pred`` against ``gold`` (aligned row by row, same texts); each a fraction in 0..1, or None.

    Keys: ``n``, ``intent_accuracy`` (out-of-scope counted as one class), ``slot_precision``, ``slot_recall``,
    ``slot_f1`` (micro over all spans of all rows; a span is right when slot type, start and end are equal),
    ``exact_match`` (intent right and the slot set equal), ``per_slot`` {slot: {precision, recall, f1, support}}.
    A score whose denominator is zero is None, not 0: slot precision with no predicted spans, slot recall with no
    gold spans, slot F1 with neither, ``in_scope_accuracy`` of a set with only out-of-scope rows,
    ``oos_precision`` when nothing was predicted out of scope.
    When gold holds out-of-scope rows (intent None or "oos"), also ``in_scope_accuracy`` (over gold in-scope rows;
    predicting oos there is wrong), ``oos_recall`` and ``oos_precision``.
    """
    _check_aligned(gold, pred)
    n = len(gold)
    intent_ok = exact = 0
    tp: Counter[str] = Counter()
    n_gold: Counter[str] = Counter()
    n_pred: Counter[str] = Counter()
    gold_oos = pred_oos = both_oos = in_scope = in_scope_ok = 0
    for g, p in zip(gold, pred, strict=True):
        gi, pi = _norm_intent(g.intent), _norm_intent(p.intent)
        ok = gi == pi
        intent_ok += ok
        gs = Counter(_span_key(s) for s in g.slots)
        ps = Counter(_span_key(s) for s in p.slots)
        for k, c in gs.items():
            n_gold[k[0]] += c
        for k, c in ps.items():
            n_pred[k[0]] += c
        for k, c in (gs & ps).items():
            tp[k[0]] += c
        exact += ok and gs == ps
        if gi == OOS:
            gold_oos += 1
            both_oos += pi == OOS
        else:
            in_scope += 1
            in_scope_ok += ok
        pred_oos += pi == OOS
    TP, G, P = sum(tp.values()), sum(n_gold.values()), sum(n_pred.values())
    prec, rec = _div(TP, P), _div(TP, G)
    per_slot = {}
    for slot in sorted(set(n_gold) | set(n_pred)):
        sp, sr = _div(tp[slot], n_pred[slot]), _div(tp[slot], n_gold[slot])
        per_slot[slot] = {
            "precision": sp,
            "recall": sr,
            "f1": _f1(tp[slot], n_gold[slot], n_pred[slot]),
            "support": n_gold[slot],
        }
    out: dict = {
        "n": n,
        "intent_accuracy": _div(intent_ok, n),
        "slot_precision": prec,
        "slot_recall": rec,
        "slot_f1": _f1(TP, G, P),
        "exact_match": _div(exact, n),
        "per_slot": per_slot,
    }
    if gold_oos:
        out["in_scope_accuracy"] = _div(in_scope_ok, in_scope)
        out["oos_recall"] = _div(both_oos, gold_oos)
        out["oos_precision"] = _div(both_oos, pred_oos)
    return out


# --- Snips 2017 protocol -------------------------------------------------------------------------------------------


def _strip_value(value: str) -> str:
    """Case-folded value with surrounding whitespace and punctuation stripped (the Snips 2017 matching rule)."""

    def skip(c: str) -> bool:
        return c.isspace() or unicodedata.category(c).startswith("P")

    i, j = 0, len(value)
    while i < j and skip(value[i]):
        i += 1
    while j > i and skip(value[j - 1]):
        j -= 1
    return value[i:j].casefold()


def snips2017_draw_counts(gold: Sequence[Utterance], pred: Sequence[Utterance]) -> dict[str, dict[str, int]]:
    """Per slot: ``tp``, ``pred`` and ``gold`` counts of one draw under the Snips 2017 matching rule.

    A predicted slot is correct when a not yet matched gold slot of the same utterance has its type and the same
    stripped, case-folded value text; each gold slot is matched at most once.
    """
    _check_aligned(gold, pred)
    counts: dict[str, dict[str, int]] = {}

    def c(slot: str) -> dict[str, int]:
        return counts.setdefault(slot, {"tp": 0, "pred": 0, "gold": 0})

    for g, p in zip(gold, pred, strict=True):
        unmatched = Counter((s.slot, _strip_value(s.value)) for s in g.slots)
        for s in g.slots:
            c(s.slot)["gold"] += 1
        for s in p.slots:
            c(s.slot)["pred"] += 1
            key = (s.slot, _strip_value(s.value))
            if unmatched[key] > 0:
                unmatched[key] -= 1
                c(s.slot)["tp"] += 1
    return counts


def snips2017_slot_scores(gold: Sequence[Utterance], preds_by_seed: list[Sequence[Utterance]]) -> dict:
    """The Snips 2017 score of one intent: ``gold`` = its validate set, ``preds_by_seed`` = predictions of each draw.

    Per draw and slot: precision = tp / predicted, recall = tp / gold, F1 = 2PR/(P+R) (0 when nothing was predicted
    or nothing matched). A slot's F1 is the mean over the draws; the intent's ``score`` is the mean of its slots' F1
    weighted by each slot's gold occurrence count in ``gold``. Slots only ever predicted (support 0) are listed but
    weigh nothing.

    Returns {"score", "slots": {slot: {"precision", "recall", "f1" (means over draws), "f1_by_draw", "support"}},
    "draws"}.
    """
    if not preds_by_seed:
        raise ValueError("preds_by_seed is empty")
    per_draw = [snips2017_draw_counts(gold, p) for p in preds_by_seed]
    support = Counter(s.slot for u in gold for s in u.slots)
    slots = sorted(set(support) | {k for d in per_draw for k in d})
    out_slots = {}
    for slot in slots:
        ps, rs, fs = [], [], []
        for d in per_draw:
            c = d.get(slot, {"tp": 0, "pred": 0, "gold": support[slot]})
            p, r = _div0(c["tp"], c["pred"]), _div0(c["tp"], c["gold"])
            ps.append(p)
            rs.append(r)
            fs.append(_f1_pr(p, r))
        k = len(per_draw)
        out_slots[slot] = {
            "precision": sum(ps) / k,
            "recall": sum(rs) / k,
            "f1": sum(fs) / k,
            "f1_by_draw": fs,
            "support": support[slot],
        }
    total = sum(support.values())
    score = _div0(sum(out_slots[s]["f1"] * support[s] for s in support), total)
    return {"score": score, "slots": out_slots, "draws": len(per_draw)}


def _system_path(intent_dir: Path, system_file: str) -> Path:
    name = system_file if system_file.endswith(".json") else f"{system_file}_metrics.json"
    return intent_dir / name


def published_snips2017(data_dir: str | Path, system_file: str) -> dict:
    """The Snips 2017 score of a published peer, from ``<data_dir>/snips2017/original/<Intent>/<system>_metrics.json``.

    ``data_dir`` is the shared data folder (``edge_nlu.data.data_dir()``); ``system_file`` is a system name ("Alexa",
    "Luis", "Wit", "api.ai", "Snips") or a file name ("Snips_metrics_full.json"). The files hold, per intent and slot,
    lists of precision and recall (one per draw) per training size, and ``rate``: the slot's gold occurrence count.

    Convention (it reproduces the figures quoted for Snips 2017: 0.569 @10 and 0.824 @70 averaged over the 7 intents):
    per draw F1 = 2PR/(P+R), a NaN precision or recall (nothing predicted: 0/0) counts as F1 = 0 (recall is 0 in those
    draws anyway); a slot's F1 is the mean over the draws; an intent's score is the mean of slot F1 weighted by
    ``rate``; ``mean`` is the unweighted mean over the intents that have the size. Note: the published ``rate``
    counts differ slightly from the gold counts of our ``validate.jsonl`` (the 2017 runs used an earlier validate
    file; Alexa's are summed over its three draws, a scale that cancels out) and some systems name the date slot
    ``timeRange`` instead of ``snips/datetime``; published scores therefore use the files' own ``rate`` weights.
    Alexa only reports size 70; ``Snips_metrics_full.json`` reports the full training set (its size differs per
    intent), keyed ``"full"``.

    Returns {"system", "by_size": {size (int, or "full"): {"intents": {intent: score}, "mean": float}}}.
    """
    root = Path(data_dir) / "snips2017" / "original"
    full = Path(system_file).name.removesuffix(".json").endswith("_full")
    by_size: dict = {}
    for intent in SNIPS2017_INTENTS:
        path = _system_path(root / intent, system_file)
        with open(path, encoding="utf-8") as f:
            # the files contain bare NaN literals, which json accepts by default
            data = json.load(f)
        slots = data["intents"][intent]["slots"]
        sizes = sorted({int(s) for v in slots.values() for s in v["precision"]})
        for size in sizes:
            acc = tot = 0.0
            for v in slots.values():
                ps, rs = v["precision"].get(str(size)), v["recall"].get(str(size))
                if ps is None or rs is None:
                    continue
                fs = [0.0 if math.isnan(p) or math.isnan(r) else _f1_pr(p, r) for p, r in zip(ps, rs, strict=True)]
                acc += v["rate"] * (sum(fs) / len(fs))
                tot += v["rate"]
            key = "full" if full else size
            by_size.setdefault(key, {"intents": {}})["intents"][intent] = _div0(acc, tot)
    for v in by_size.values():
        v["mean"] = sum(v["intents"].values()) / len(v["intents"])
    name = Path(system_file).name.removesuffix(".json").removesuffix("_metrics")
    return {"system": name, "by_size": by_size}
