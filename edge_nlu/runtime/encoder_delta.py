"""A skill's own slot encoder stored as a low-rank delta of the base encoder's weights (``encoder_delta.npz``).

A full fine-tuned copy of the base's int8 BiLSTM is ~290 KB per skill, more than the rest of a compiled skill. The
compiler can instead train a rank-r update of each LSTM weight matrix (``W = W_base + up @ down``) plus the biases
and the word-shape table, and ship only those (~50 KB at rank 8). At load time the runtime adds the delta to the
base's weights, re-quantizes them exactly as the build's quantizer does (symmetric int8 per output channel), and opens
the base's own graph with those tensors in place of its initializers (``SessionOptions.add_initializer``). The skill
is bound to its base by ``base_id``, so the delta is only ever added to the weights it was trained against.

Member layout: ``names`` (the base graph's initializer names, in :data:`NAMES` order), ``w_up`` / ``w_down`` and
``r_up`` / ``r_down`` (input and recurrent weights, ONNX gate order: [D, 4H, r] and [D, r, I]), ``bias`` (the full
ONNX bias [D, 8H]), ``case`` (the word-shape table [shapes, E]), ``qmax`` (the weights' int8 range).
"""

from __future__ import annotations

import numpy as np

# the base graph's tensors a delta replaces, by role (the member stores their names in this order)
NAMES = ("w", "w_scale", "w_zero_point", "r", "r_scale", "r_zero_point", "bias", "case")
ARRAYS = ("names", "w_up", "w_down", "r_up", "r_down", "bias", "case", "qmax")


class DeltaError(ValueError):
    """The delta does not fit the base graph's weights (shape, rank or names)."""


def quantize_channels(w: np.ndarray, qmax: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 per output channel of ``w`` [D, I, G] (onnxruntime's dynamic-quantization layout): the same
    scales and values onnxruntime.quantization gives for weights in [-qmax, qmax] (reduce_range: qmax 64)."""
    scale = (np.abs(w).max(axis=1) / qmax).astype(np.float32)
    scale[scale == 0] = 1.0
    q = np.clip(np.rint(w / scale[:, None, :]), -qmax, qmax).astype(np.int8)
    return q, scale


def dequantize_channels(q: np.ndarray, scale: np.ndarray, zero: np.ndarray) -> np.ndarray:
    return (q.astype(np.float32) - zero.astype(np.float32)[:, None, :]) * scale[:, None, :]


def role_names(delta: dict[str, np.ndarray]) -> dict[str, str]:
    """The base graph's initializer names the delta replaces, by role (:data:`NAMES`)."""
    names = [str(x) for x in np.asarray(delta.get("names", [])).ravel()]
    if len(names) != len(NAMES):
        raise DeltaError(f"{len(names)} weight names, expected {len(NAMES)}")
    return dict(zip(NAMES, names))


def apply_delta(base: dict[str, np.ndarray], delta: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The new initializers (name -> array) of the skill's encoder: ``base`` holds the base graph's initializers named
    in ``delta["names"]``. Raises :class:`DeltaError` when the delta's shapes do not fit them."""
    missing = [k for k in ARRAYS if k not in delta]
    if missing:
        raise DeltaError(f"no array {missing[0]!r}")
    role = role_names(delta)
    qmax = int(np.asarray(delta["qmax"]).ravel()[0])
    if not 1 <= qmax <= 127:
        raise DeltaError(f"qmax {qmax} outside 1..127")
    for k in ("w_up", "w_down", "r_up", "r_down", "bias", "case"):
        if not np.all(np.isfinite(np.asarray(delta[k], dtype=np.float32))):
            raise DeltaError(f"{k} holds values that are not finite")
    out = {}
    for key in ("w", "r"):
        q, s, z = (base[role[k]] for k in (key, f"{key}_scale", f"{key}_zero_point"))
        up, down = (np.asarray(delta[f"{key}_{p}"], dtype=np.float32) for p in ("up", "down"))
        d, i, g = q.shape
        if up.ndim != 3 or down.ndim != 3 or up.shape[:2] != (d, g) or down.shape != (d, up.shape[2], i):
            raise DeltaError(f"{key}_up {up.shape} / {key}_down {down.shape} do not fit weights {q.shape}")
        w = dequantize_channels(q, s, z) + np.einsum("dgr,dri->dig", up, down)
        out[role[key]], out[role[f"{key}_scale"]] = quantize_channels(w, qmax)
        out[role[f"{key}_zero_point"]] = np.zeros_like(z)
    for key in ("bias", "case"):
        ref, new = base[role[key]], np.asarray(delta[key], dtype=np.float32)
        if new.shape != ref.shape:
            raise DeltaError(f"{key} {new.shape} does not fit the base's {ref.shape}")
        out[role[key]] = np.ascontiguousarray(new)
    return out
