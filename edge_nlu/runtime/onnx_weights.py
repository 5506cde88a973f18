"""Read named initializers (weights) out of an ONNX graph's bytes, with numpy only.

A skill that ships a low-rank delta of the base encoder's weights (``encoder_delta.npz``) needs the base's own int8
weights to add it to; onnxruntime exposes no initializer values and the runtime does not depend on ``onnx``, so this
walks the protobuf wire format (ModelProto.graph -> GraphProto.initializer -> TensorProto) for the few tensors asked.
Only what the exporter and onnxruntime's quantizer write is read: dense tensors in ``raw_data`` or the typed
``float_data`` / ``int32_data`` / ``int64_data`` fields; anything else is an error, not a guess.
"""

from __future__ import annotations

import numpy as np

# TensorProto.DataType -> numpy dtype
_DTYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 5: np.int16, 6: np.int32, 7: np.int64, 10: np.float16}


class OnnxWeightsError(ValueError):
    """The bytes are not an ONNX graph this reader understands, or lack a tensor asked for."""


def _varint(buf: memoryview, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        if i >= len(buf):
            raise OnnxWeightsError("truncated varint")
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7
        if shift > 63:
            raise OnnxWeightsError("varint too long")


def _fields(buf: memoryview):
    """(field number, wire type, value) of one message: an int for varints, a memoryview for the rest."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 1:
            value, i = buf[i : i + 8], i + 8
        elif wire == 2:
            n, i = _varint(buf, i)
            value, i = buf[i : i + n], i + n
        elif wire == 5:
            value, i = buf[i : i + 4], i + 4
        else:
            raise OnnxWeightsError(f"unsupported protobuf wire type {wire}")
        if i > len(buf):
            raise OnnxWeightsError("truncated message")
        yield field, wire, value


def _varints(buf: memoryview) -> list[int]:
    out, i = [], 0
    while i < len(buf):
        v, i = _varint(buf, i)
        out.append(v - (1 << 64) if v >= 1 << 63 else v)  # int32/int64 negatives are sign-extended to 64 bits
    return out


def _tensor(buf: memoryview) -> tuple[str, np.ndarray]:
    name, dtype, dims, raw, typed = "", 0, [], None, []
    for field, wire, v in _fields(buf):
        if field == 1:
            dims.extend(_varints(v) if wire == 2 else [v])
        elif field == 2:
            dtype = v
        elif field == 8:
            name = bytes(v).decode("utf-8")
        elif field == 9:
            raw = bytes(v)
        elif field == 4:  # float_data, packed or not
            typed.extend(np.frombuffer(bytes(v), "<f4").tolist())
        elif field in (5, 7):  # int32_data / int64_data
            typed.extend(_varints(v) if wire == 2 else [v])
        elif field in (13, 14) and (field == 13 or v == 1):
            raise OnnxWeightsError(f"tensor {name or '?'} is stored outside the graph (external data)")
    if dtype not in _DTYPES:
        raise OnnxWeightsError(f"tensor {name!r} has data type {dtype}, which this reader does not read")
    dt = np.dtype(_DTYPES[dtype]).newbyteorder("<")
    if raw is not None:
        arr = np.frombuffer(raw, dtype=dt).astype(dt.newbyteorder("="))
    elif dtype == 10:  # float16 in int32_data holds the bit patterns
        arr = np.asarray(typed, dtype=np.uint16).view(np.float16)
    else:
        arr = np.asarray(typed, dtype=dt.newbyteorder("="))
    count = int(np.prod(dims)) if dims else 1
    if arr.size != count:
        raise OnnxWeightsError(f"tensor {name!r}: {arr.size} values for dims {dims}")
    return name, arr.reshape(dims)


def read_initializers(model: bytes, names: set[str] | list[str]) -> dict[str, np.ndarray]:
    """The initializers of ``model`` (ONNX bytes) named in ``names``; raises :class:`OnnxWeightsError` when one is
    missing or unreadable."""
    want, got = set(names), {}
    buf = memoryview(model)
    for field, wire, graph in _fields(buf):
        if field != 7 or wire != 2:  # ModelProto.graph
            continue
        for gfield, gwire, tensor in _fields(graph):
            if gfield == 5 and gwire == 2:  # GraphProto.initializer
                name, arr = _tensor(tensor)
                if name in want:
                    got[name] = arr
    missing = want - set(got)
    if missing:
        raise OnnxWeightsError(f"the graph has no initializer {sorted(missing)[0]!r}")
    return got
