"""edge-nlu: on-device intent and slot parsing.

    >>> import edge_nlu
    >>> nlu = edge_nlu.load()                       # the embedded default model
    >>> nlu.parse("set an alarm for 7 am").intent

Importing the package is light: onnxruntime and tokenizers are imported by :func:`load` (or on first use of
:class:`NLU`), not here.
"""

from __future__ import annotations

import logging
from importlib import metadata as _metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge_nlu.errors import (
    ArtifactError,
    DefinitionError,
    EdgeNLUError,
    InputError,
    MissingExtraError,
    UnknownSkillError,
)
from edge_nlu.result import Alternative, ParseResult, Slot

if TYPE_CHECKING:  # pragma: no cover
    from edge_nlu.runtime.nlu import NLU

try:
    __version__ = _metadata.version("edge-nlu")
except _metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"

logging.getLogger(__name__).addHandler(logging.NullHandler())

__all__ = [
    "NLU",
    "Alternative",
    "ArtifactError",
    "DefinitionError",
    "EdgeNLUError",
    "InputError",
    "MissingExtraError",
    "ParseResult",
    "Slot",
    "UnknownSkillError",
    "__version__",
    "load",
]


def load(path: str | Path | None = None, **kwargs: Any) -> NLU:
    """Load a model folder (``base/``, ``skills/``, ``config.json``); None loads the embedded default.

    Keyword arguments go to :class:`NLU`: ``home`` (user skill store, default ``$EDGE_NLU_HOME`` or the per-user
    data folder), ``threads`` (onnxruntime intra-op threads, default 1), ``max_resident``, ``verify``,
    ``joint_weight`` (joint intent-slot decoding, so an intent only gets the slots its training rows had: "auto",
    the default, uses each skill's own weight, None turns it off, a number >= 0 sets it for every skill: see README).
    """
    from edge_nlu.runtime.nlu import load as _load

    return _load(path, **kwargs)


def __getattr__(name: str) -> Any:  # PEP 562: NLU is imported (with onnxruntime) only when asked for
    if name == "NLU":
        from edge_nlu.runtime.nlu import NLU

        return NLU
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
