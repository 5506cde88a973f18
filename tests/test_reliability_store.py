"""Reliability (issue 5.4): installs and removals are atomic, also when the process is SIGKILLed half-way.

A forked child installs / replaces / removes a skill in a loop; the parent SIGKILLs it at random moments. After every
kill the store holds the old or the new skill (each verifies and loads), never a broken file; other skills are
untouched; state.json is valid JSON; leftover temporary files are removed when the next NLU loads. Several processes
installing the same name at once (the flock lock) leave a valid store.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time
from pathlib import Path

import pytest

import edge_nlu
from edge_nlu.runtime.artifacts import read_skill, write_skill
from edge_nlu.runtime.skill import Skill

KILLS = 40


def _variant(src: Path, dst: Path, name: str, pad: int = 0) -> Path:
    """A copy of ``src`` under another name (valid manifest); ``pad`` bytes of catalog padding make it bigger."""
    manifest, members = read_skill(src)
    meta = {k: v for k, v in manifest.items() if k not in ("format", "format_version", "files")}
    meta["name"] = name
    if pad:
        cat = json.loads(members["catalog.json"])
        cat["_pad"] = {"type": "x", "values": [], "pad": "p" * pad}
        members = {**members, "catalog.json": json.dumps(cat).encode()}
    write_skill(dst, members, meta)
    return dst


def _fork(fn) -> int:
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        code = 0
        try:
            fn()
        except BaseException:  # noqa: BLE001 - a child's failure shows as its exit status
            code = 1
        os._exit(code)
    return pid


def _check_store(nlu, name: str, allowed: dict[bytes, str], others: dict[str, bytes]) -> str:
    """The installed ``name`` is one of ``allowed`` (or absent) and verifies; other skills are byte-identical."""
    folder = nlu.user.folder
    p = folder / f"{name}.skill"
    state = folder / "state.json"
    if state.exists():
        json.loads(state.read_text())  # never half-written
    for other, data in others.items():
        assert (folder / f"{other}.skill").read_bytes() == data, other
    if not p.exists():
        return "absent"
    data = p.read_bytes()
    assert data in allowed, f"{p} is neither the old nor the new skill ({len(data)} bytes)"
    read_skill(p, nlu.base.manifest)  # verifies every member's sha256 and the base
    Skill(p, nlu.base.manifest)
    return allowed[data]


def test_sigkill_during_install(tiny_model, pizza_skill, tmp_path):
    home = tmp_path / "home"
    nlu = edge_nlu.load(tiny_model, home=home)
    old = _variant(pizza_skill, tmp_path / "old.skill", "pz")
    new = _variant(pizza_skill, tmp_path / "new.skill", "pz", pad=3_000_000)  # a few MB: kills land mid-write
    keep = _variant(pizza_skill, tmp_path / "keep.skill", "keep")
    nlu.install_skill(keep, name="keep")
    others = {"keep": nlu.user.path("keep").read_bytes()}
    allowed = {old.read_bytes(): "old", new.read_bytes(): "new"}

    def loop() -> None:
        child = edge_nlu.load(tiny_model, home=home)
        k = 0
        while True:
            k += 1
            if k % 5 == 0:
                child.remove_skill("pz")
            else:
                child.install_skill(old if k % 2 else new, name="pz")

    rng = random.Random("sigkill")
    seen: dict[str, int] = {}
    temps = 0
    for _ in range(KILLS):
        pid = _fork(loop)
        time.sleep(rng.uniform(0.02, 0.4))
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status), "the child stopped on its own (an exception in the install loop)"
        temps += len(list(nlu.user.folder.glob(".*.tmp")))
        got = _check_store(nlu, "pz", allowed, others)
        seen[got] = seen.get(got, 0) + 1
        # the next load cleans leftover temporary files and sees a consistent store
        fresh = edge_nlu.load(tiny_model, home=home)
        assert not list(fresh.user.folder.glob(".*.tmp"))
        if got != "absent":
            assert fresh.parse("order a large pizza", skill="pz").skill == "pz"
        assert fresh.parse("order a large pizza", skill="keep").skill == "keep"
    print(f"RELIABILITY kills_survived={KILLS}")
    print(f"store after kills: {seen}, leftover temp files cleaned: {temps}")
    assert len(seen) >= 2, seen  # the kills landed at different points of the loop


def test_concurrent_installs_of_one_name(tiny_model, pizza_skill, tmp_path):
    home = tmp_path / "home"
    nlu = edge_nlu.load(tiny_model, home=home)
    variants = [_variant(pizza_skill, tmp_path / f"v{i}.skill", "same", pad=i * 50_000) for i in range(4)]
    allowed = {v.read_bytes(): v.name for v in variants}

    def installer(i: int):
        def run() -> None:
            mine = edge_nlu.load(tiny_model, home=home)
            for k in range(15):
                mine.install_skill(variants[(i + k) % len(variants)], name="same")
                if k % 4 == 3:
                    mine.set_enabled("same", k % 8 == 3)

        return run

    pids = [_fork(installer(i)) for i in range(4)]
    for pid in pids:
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    assert _check_store(nlu, "same", allowed, {}) in {v.name for v in variants}
    assert not list(nlu.user.folder.glob(".*.tmp"))
    fresh = edge_nlu.load(tiny_model, home=home)
    assert "same" in fresh.skills and fresh.parse("order a pizza", skill="same").skill == "same"


def test_cleanup_temp_keeps_skills(tiny_model, pizza_skill, tmp_path):
    home = tmp_path / "home"
    nlu = edge_nlu.load(tiny_model, home=home)
    nlu.install_skill(pizza_skill, name="pz")
    folder = nlu.user.folder
    (folder / ".pz.abc123.tmp").write_bytes(b"half a skill")
    (folder / ".state.xyz.tmp").write_bytes(b"{")
    fresh = edge_nlu.load(tiny_model, home=home)
    assert sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp")) == []
    assert fresh.skills == nlu.skills and "pz" in fresh.skills


@pytest.mark.parametrize("n", [3])
def test_remove_while_another_process_installs(tiny_model, pizza_skill, tmp_path, n):
    """Removing and installing from different processes: the store ends consistent (state lists only real skills)."""
    home = tmp_path / "home"
    edge_nlu.load(tiny_model, home=home)
    skill = _variant(pizza_skill, tmp_path / "x.skill", "x")

    def churn(seed: int):
        def run() -> None:
            mine = edge_nlu.load(tiny_model, home=home)
            rng = random.Random(seed)
            for _ in range(20):
                if rng.random() < 0.5:
                    mine.install_skill(skill, name="x")
                else:
                    try:
                        mine.remove_skill("x")
                    except edge_nlu.UnknownSkillError:
                        pass

        return run

    pids = [_fork(churn(i)) for i in range(n)]
    for pid in pids:
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
    fresh = edge_nlu.load(tiny_model, home=home)
    if "x" in fresh.skills:
        assert fresh.parse("order a pizza", skill="x").skill == "x"


@pytest.mark.parametrize(
    "name, expected", [("pizza_palace", "pizza_palace"), ("Pizza Café!", "Pizza_Cafe"), ("my lights", "my_lights")]
)
def test_safe_name(name, expected):
    from edge_nlu.runtime.store import safe_name

    assert safe_name(name) == expected


def test_safe_name_refuses_a_name_of_symbols():
    from edge_nlu.errors import EdgeNLUError
    from edge_nlu.runtime.store import safe_name

    with pytest.raises(EdgeNLUError, match="invalid skill name"):
        safe_name("!!!")
