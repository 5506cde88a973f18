"""Shared fixtures: the tiny model is built once per session (about 30 s) with the real build pipeline."""

from __future__ import annotations

import json
import os

os.environ["OMP_NUM_THREADS"] = "1"  # set before numpy/torch/onnxruntime start their thread pools
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

HERE = Path(__file__).resolve().parent
TINY_CONFIG = HERE / "tiny_config.json"
FIXTURES = HERE / "fixtures"


def _data_dir() -> Path:
    from edge_nlu.data import data_dir

    return data_dir()


@pytest.fixture(scope="session")
def tiny_config() -> dict:
    return json.loads(TINY_CONFIG.read_text())


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, tiny_config) -> Path:
    """Path of a tiny model (base/, skills/, config.json, build_report.json, _work/encoder_fp32.onnx)."""
    if not _data_dir().is_dir():
        pytest.skip(f"benchmark data folder {_data_dir()} is missing (set EDGE_NLU_DATA)")
    try:
        from export.build import build
    except ImportError as e:
        pytest.skip(f"build dependencies missing: {e}")
    out = tmp_path_factory.mktemp("tiny-model")
    try:
        build(dict(tiny_config), out)
    except SystemExit as e:  # the build's own verdicts (e.g. the teacher package is not installed)
        pytest.fail(f"tiny build failed: {e}")
    return out


@pytest.fixture()
def home(tmp_path) -> Path:
    """An empty user skill store for one test."""
    h = tmp_path / "home"
    h.mkdir()
    return h


@pytest.fixture()
def nlu(tiny_model, home):
    import edge_nlu

    return edge_nlu.load(tiny_model, home=home)


@pytest.fixture(scope="session")
def pizza_skill(tiny_model, tmp_path_factory) -> Path:
    """The Alexa pizza fixture compiled on the tiny base (done once)."""
    from edge_nlu.definitions import read_definition
    from export.skill_compiler import compile_skill

    out = tmp_path_factory.mktemp("pizza") / "pizza.skill"
    compile_skill(read_definition(FIXTURES / "pizza_alexa.json"), tiny_model, out)
    return out


@pytest.fixture(scope="session")
def pizza_full_skill(tiny_model, tmp_path_factory) -> Path:
    """The pizza fixture compiled with its slot encoder shipped whole (``encoder.onnx``, ``--rank 0``; done once)."""
    from edge_nlu.definitions import read_definition
    from export.skill_compiler import compile_skill

    out = tmp_path_factory.mktemp("pizza-full") / "pizza.skill"
    compile_skill(read_definition(FIXTURES / "pizza_alexa.json"), tiny_model, out, rank=0)
    return out


def rewrite_zip(src: Path, dst: Path, edit) -> None:
    """Copy the skill zip ``src`` to ``dst`` with ``edit(members)`` applied to its members (manifest included, sums
    not recomputed: for tampering tests)."""
    import zipfile

    with zipfile.ZipFile(src) as z:
        members = {n: z.read(n) for n in z.namelist()}
    edit(members)
    with zipfile.ZipFile(dst, "w") as z:
        for n, v in members.items():
            z.writestr(n, v)


def flip_byte(name: str):
    """An edit for :func:`rewrite_zip` that flips one byte in the middle of member ``name``."""

    def edit(members: dict[str, bytes]) -> None:
        b = bytearray(members[name])
        b[len(b) // 2] ^= 0xFF
        members[name] = bytes(b)

    return edit


# hypothesis profiles ("ci", the default, and "dev"): see tests/_hypothesis.py
from tests import _hypothesis  # noqa: E402, F401
