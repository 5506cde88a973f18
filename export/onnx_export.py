"""Export the student's shared encoder to ONNX (opset 17, dynamic batch and sequence length)."""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from torch import nn

log = logging.getLogger(__name__)

OPSET = 17


class _ExportEncoder(nn.Module):
    """The encoder's unpadded path (``lengths`` None): one utterance, or an equal-length batch."""

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, emb: torch.Tensor, case: torch.Tensor):
        return self.encoder(emb, case)


def export_encoder(encoder: nn.Module, emb_dim: int, path: Path) -> Path:
    """Write the encoder graph: ``emb`` [B, T, E] float32 + ``case`` [B, T] int64 (word shapes) -> ``states``
    [B, T, 2H], ``pooled`` [B, 4H]."""
    m = _ExportEncoder(encoder).eval()
    dummy = torch.randn(2, 7, emb_dim)
    case = torch.ones((2, 7), dtype=torch.long)
    with torch.no_grad():
        torch.onnx.export(
            m,
            (dummy, case),
            str(path),
            input_names=["emb", "case"],
            output_names=["states", "pooled"],
            dynamic_axes={
                "emb": {0: "batch", 1: "seq"},
                "case": {0: "batch", 1: "seq"},
                "states": {0: "batch", 1: "seq"},
                "pooled": {0: "batch"},
            },
            opset_version=OPSET,
            dynamo=False,
        )
    log.info("exported encoder to %s (%d bytes)", path, path.stat().st_size)
    return path
