"""Skill stores: the read-only embedded default and the user store that overlays it.

The user store is ``$EDGE_NLU_HOME`` (else ``$XDG_DATA_HOME/edge-nlu``, else ``~/.local/share/edge-nlu``), one
folder per base (``<home>/<base_id>/``) so skills of different bases never mix. Installing writes the skill to a
temporary file in the same folder, fsyncs it, renames it over the old one and fsyncs the folder: a crash leaves the
old skill or the new one, never a broken file. A lock file serialises installs and removals across processes.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterator
from pathlib import Path

from edge_nlu.errors import EdgeNLUError, UnknownSkillError

SKILL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


def user_home() -> Path:
    env = os.environ.get("EDGE_NLU_HOME")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_DATA_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "share") / "edge-nlu"


def check_name(name: str, what: str = "skill name") -> str:
    """``name`` if it can name a skill file on every file system, else EdgeNLUError."""
    if not isinstance(name, str) or not SKILL_NAME.fullmatch(name):
        raise EdgeNLUError(
            f"invalid {what} {name!r}: use ASCII letters, digits, '_', '-', '.' (starting with a letter or digit, "
            "at most 64)"
        )
    return name


def safe_name(name: str) -> str:
    """A valid skill name made from a definition's name ("Pizza Café!" -> "Pizza_Cafe"); EdgeNLUError if none is
    left (a name of only symbols)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "_", ascii_name).strip("_.-")[:64].rstrip("_.-")
    return check_name(cleaned or name)


class SkillStore:
    """A folder of ``NAME.skill`` files (and ``state.json``: which skills are enabled)."""

    def __init__(self, folder: Path, writable: bool) -> None:
        self.folder = Path(folder)
        self.writable = writable

    def names(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(p.name[: -len(".skill")] for p in self.folder.glob("*.skill") if not p.name.startswith("."))

    def path(self, name: str) -> Path:
        return self.folder / f"{check_name(name)}.skill"

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / ".lock", "a+") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)

    def install_bytes(self, name: str, data: bytes) -> Path:
        """Atomically place ``data`` as NAME.skill (caller holds the lock and has verified the bytes)."""
        dest = self.path(name)
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=self.folder)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, dest)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        _fsync_dir(self.folder)
        return dest

    def remove(self, name: str) -> None:
        p = self.path(name)
        if not p.exists():
            raise UnknownSkillError(f"skill {name!r} is not installed in {self.folder}")
        os.unlink(p)
        _fsync_dir(self.folder)

    def cleanup_temp(self) -> None:
        """Remove temporary files a killed install left behind."""
        for p in self.folder.glob(".*.tmp"):
            with contextlib.suppress(OSError):
                p.unlink()

    # enabled/disabled state (the user's choice overlays the default model's)
    def read_state(self) -> dict:
        p = self.folder / "state.json"
        try:
            state = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(state, dict):
            return {}
        # a hand-edited state must not turn "alarm" into the skills a, l, r, m: keep only well-formed entries
        for key in ("enabled", "disabled"):
            v = state.get(key, [])
            state[key] = [n for n in v if isinstance(n, str)] if isinstance(v, list) else []
        inv = state.get("invocations", {})
        state["invocations"] = (
            {n: i for n, i in inv.items() if isinstance(n, str) and isinstance(i, str)} if isinstance(inv, dict) else {}
        )
        return state

    def write_state(self, state: dict) -> None:
        data = json.dumps(state, indent=1).encode()
        fd, tmp = tempfile.mkstemp(prefix=".state.", suffix=".tmp", dir=self.folder)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.folder / "state.json")
        _fsync_dir(self.folder)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
