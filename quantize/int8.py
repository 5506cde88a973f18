"""int8 quantization of the encoder graph (onnxruntime dynamic quantization) and of embedding tables.

Dynamic quantization fits a small encoder (LSTM, convolutions, transformer blocks): weights int8 per channel,
activations quantized on the fly, no calibration set to keep in sync (onnxruntime has no int8 GRU: a GRU stays fp32).
The accuracy guard (quantize.guard) decides whether the result may ship.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)


# the int8 range of the encoder's weights: quantize_dynamic's symmetric reduce_range weights are in [-64, 64]; a skill's
# encoder delta is re-quantized to it at load time (edge_nlu.runtime.encoder_delta)
WEIGHT_QMAX = 64


def quantize_encoder(fp32: Path, int8: Path, per_channel: bool = True, reduce_range: bool = True) -> Path:
    """Dynamic int8 of ``fp32``. ``reduce_range`` (7-bit weights) is on by default: x86 CPUs without VNNI (AVX2
    only) multiply uint8 activations by int8 weights in int16 pairs that saturate with full-range weights; measured
    on an AVX2-only EPYC, a full-range int8 BiLSTM's pooled outputs were off by a median 0.29 (values up to 1.0)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(fp32),
        str(int8),
        weight_type=QuantType.QInt8,
        per_channel=per_channel,
        reduce_range=reduce_range,
        op_types_to_quantize=["LSTM", "MatMul", "Gemm", "Conv"],
    )
    log.info("int8 encoder %s: %d -> %d bytes", int8.name, fp32.stat().st_size, int8.stat().st_size)
    return int8


def quantize_columns(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 with one scale per column: column ≈ q * scale (a skill's hashed lexical table, one scale per
    tag: the rows of a bucket are summed per word, so a shared scale per output keeps the sum one multiply)."""
    q, scale = quantize_rows(np.asarray(table, dtype=np.float32).T)
    return np.ascontiguousarray(q.T), scale


def quantize_rows(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric int8 with one scale per row: row ≈ q * scale."""
    table = np.asarray(table, dtype=np.float32)
    scale = np.abs(table).max(axis=1) / 127.0
    scale[scale == 0] = 1.0
    q = np.clip(np.rint(table / scale[:, None]), -127, 127).astype(np.int8)
    return q, scale.astype(np.float32)
