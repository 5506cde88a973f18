"""Where the shared benchmark data lives: $EDGE_NLU_DATA, else ../shared/data beside the checkout."""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    """The folder holding snips/, atis/, hwu64/, clinc150/, snips2017/ (normalised JSONL)."""
    env = os.environ.get("EDGE_NLU_DATA")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent.parent
    for cand in (
        here.parent / "shared" / "data",
        Path.cwd().parent / "shared" / "data",
        Path.cwd() / "shared" / "data",
    ):
        if cand.is_dir():
            return cand
    return here.parent / "shared" / "data"


def split_path(dataset: str, split: str) -> Path:
    """Path of ``<data>/<dataset>/<split>.jsonl``."""
    return data_dir() / dataset / f"{split}.jsonl"
