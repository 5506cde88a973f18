"""Artifact formats: a base folder and single-file skills, each with a manifest of sha256 sums.

A *base* is a folder: tokenizer.json, embeddings.npy (int8) + scales.npy, encoder.onnx, negatives.npy (pooled
vectors used as NONE examples when compiling new skills), projection.npy (teacher → student embedding projection,
for new skills' patches) and manifest.json. A *skill* is one zip file (manifest.json, labels.json, weights.npz,
patch.json, catalog.json, and encoder.onnx when the skill was compiled with its own fine-tuned slot encoder: format
version 2, which a version-1 runtime refuses), so installing it is one atomic rename. Both manifests carry a format
version, the sha256 and size of every file and the dimensions; a skill names the base it was built for
(``base_id``: hash of the base's tokenizer, embeddings and encoder) so a runtime refuses a corrupted file or a skill
built for another base with an error naming the file and the check that failed.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

from edge_nlu.errors import ArtifactError

BASE_FORMAT = "edge-nlu-base"
SKILL_FORMAT = "edge-nlu-skill"
FORMAT_VERSION = 1
BASE_FILES = ("tokenizer.json", "embeddings.npy", "scales.npy", "encoder.onnx", "negatives.npy", "projection.npy")
SKILL_FILES = ("labels.json", "weights.npz", "patch.json", "catalog.json")
# a skill's own slot encoder: a fine-tuned int8 copy of the base encoder, or a low-rank delta of its weights
SKILL_OPTIONAL = ("encoder.onnx", "encoder_delta.npz")
# a skill with its own slot encoder is format version 2 (a full copy) or 3 (a delta): a runtime that reads neither
# refuses it, rather than ignore the member and read its slots from the shared encoder's states, which its slot head
# was not trained on
SKILL_ENCODER_VERSION = 2
SKILL_DELTA_VERSION = 3
SKILL_VERSIONS = {FORMAT_VERSION: None, SKILL_ENCODER_VERSION: "encoder.onnx", SKILL_DELTA_VERSION: "encoder_delta.npz"}


def skill_version(members) -> int:
    """The format version of a skill with these members (its own-encoder member, if any, decides)."""
    own = [n for n in SKILL_OPTIONAL if n in members]
    if len(own) > 1:
        raise ValueError(f"a skill carries one slot encoder, not {' and '.join(own)}")
    return next((v for v, n in SKILL_VERSIONS.items() if own and n == own[0]), FORMAT_VERSION)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def base_id(files: dict[str, dict]) -> str:
    """Identity of a base: what a skill's weights depend on (tokenizer, embeddings, encoder)."""
    parts = [files[k]["sha256"] for k in ("tokenizer.json", "embeddings.npy", "scales.npy", "encoder.onnx")]
    return sha256_bytes("".join(parts).encode())[:16]


def write_base_manifest(folder: Path, dims: dict, build: dict | None = None) -> dict:
    """Write manifest.json for the base files in ``folder``; returns it."""
    files = {}
    for name in BASE_FILES:
        p = folder / name
        files[name] = {"sha256": sha256_file(p), "size": p.stat().st_size}
    tok = json.loads((folder / "tokenizer.json").read_text(encoding="utf-8"))
    vocab = tok["model"]["vocab"]
    manifest = {
        "format": BASE_FORMAT,
        "format_version": FORMAT_VERSION,
        "files": files,
        "dims": dims,
        "vocab_size": len(vocab),
        "vocab_hash": sha256_bytes(json.dumps(sorted(vocab.items())).encode()),
        "tokenizer_hash": files["tokenizer.json"]["sha256"],
        "base_id": base_id(files),
        "build": build or {},
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def read_json_file(path: Path, check: str = "json") -> dict:
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArtifactError("file is missing", file=str(path), check="exists") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ArtifactError(f"unreadable ({e.__class__.__name__})", file=str(path), check=check) from None
    if not isinstance(obj, dict):
        raise ArtifactError("is not a JSON object", file=str(path), check=check)
    return obj


def verify_base(folder: Path, check_sums: bool = True) -> dict:
    """Read and check a base manifest and its files; returns the manifest or raises ArtifactError."""
    mpath = folder / "manifest.json"
    m = read_json_file(mpath, "manifest")
    if m.get("format") != BASE_FORMAT:
        raise ArtifactError(f"not an edge-nlu base (format {m.get('format')!r})", file=str(mpath), check="format")
    if m.get("format_version") != FORMAT_VERSION:
        raise ArtifactError(
            f"format version {m.get('format_version')!r}, this runtime reads {FORMAT_VERSION}",
            file=str(mpath),
            check="format_version",
        )
    files = m.get("files")
    if not isinstance(files, dict) or set(BASE_FILES) - set(files):
        raise ArtifactError("lists the wrong files", file=str(mpath), check="manifest")
    for name in BASE_FILES:
        p = folder / name
        if not p.is_file():
            raise ArtifactError("file is missing", file=str(p), check="exists")
        if p.stat().st_size != files[name].get("size"):
            raise ArtifactError(
                f"size {p.stat().st_size} bytes, manifest says {files[name].get('size')}", file=str(p), check="size"
            )
        if check_sums and sha256_file(p) != files[name].get("sha256"):
            raise ArtifactError("sha256 does not match the manifest", file=str(p), check="sha256")
    if m.get("tokenizer_hash", files["tokenizer.json"].get("sha256")) != files["tokenizer.json"].get("sha256"):
        raise ArtifactError("tokenizer_hash does not match the tokenizer's sha256", file=str(mpath), check="manifest")
    if m.get("base_id") != base_id(files):
        raise ArtifactError("base_id does not match its files", file=str(mpath), check="base_id")
    return m


def write_skill(path: Path, members: dict[str, bytes], meta: dict) -> dict:
    """Write a skill zip at ``path`` (caller makes it atomic); ``meta`` goes into its manifest."""
    manifest = {
        "format": SKILL_FORMAT,
        "format_version": skill_version(members),
        "files": {k: {"sha256": sha256_bytes(v), "size": len(v)} for k, v in members.items()},
        **meta,
    }
    # fixed entry times: the same members give the same bytes (the manifest's "built" says when, when wanted)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for k, v in (("manifest.json", json.dumps(manifest, indent=1).encode()), *members.items()):
            info = zipfile.ZipInfo(k, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.create_system = 3  # Unix, wherever it is written: the same bytes on every platform
            z.writestr(info, v)
    return manifest


def rewrite_skill(path: Path, base_manifest: dict | None, edit) -> dict:
    """Read and verify the skill at ``path``, let ``edit(members)`` change its members in place, and write it back
    atomically (temp file beside it + rename) with fresh sums; name, base and dims stay. Returns the new manifest.
    An ``edit`` that returns False changes nothing: the file is not rewritten and its manifest is returned."""
    import os

    manifest, members = read_skill(path, base_manifest)
    if edit(members) is False:
        return manifest
    meta = {k: v for k, v in manifest.items() if k not in ("format", "format_version", "files")}
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        new = write_skill(tmp, members, meta)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return new


def _why(e: BaseException) -> str:
    """``zlib.error: Error -3 …``: the class alone ("error") says nothing."""
    name = (
        type(e).__name__
        if type(e).__module__ in ("builtins", "zipfile")
        else f"{type(e).__module__}.{type(e).__name__}"
    )
    msg = str(e).splitlines()[0][:120] if str(e) else ""
    return f"{name}: {msg}" if msg else name


def read_skill(path: Path, base_manifest: dict | None = None) -> tuple[dict, dict[str, bytes]]:
    """Read and verify a skill zip: manifest, members' sha256, format version and base compatibility."""
    where = str(path)
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            if "manifest.json" not in names:
                raise ArtifactError("has no manifest.json", file=where, check="manifest")
            raw = z.read("manifest.json")
            members = {n: z.read(n) for n in SKILL_FILES + SKILL_OPTIONAL if n in names}
        try:
            manifest = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as e:
            raise ArtifactError(
                f"unreadable ({e.__class__.__name__})", file=where + ":manifest.json", check="manifest"
            ) from None
    except ArtifactError:
        raise
    except FileNotFoundError:
        raise ArtifactError("file is missing", file=where, check="exists") from None
    except Exception as e:  # BadZipFile, CRC and zlib.error from a corrupted member, OSError, EOFError, …
        raise ArtifactError(f"not a readable skill archive ({_why(e)})", file=where, check="zip") from None
    if not isinstance(manifest, dict) or manifest.get("format") != SKILL_FORMAT:
        raise ArtifactError("not an edge-nlu skill", file=where + ":manifest.json", check="format")
    version = manifest.get("format_version")
    if type(version) is not int or version not in SKILL_VERSIONS:
        raise ArtifactError(
            f"format version {version!r}, this runtime reads {', '.join(map(str, SKILL_VERSIONS))}",
            file=where + ":manifest.json",
            check="format_version",
        )
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise ArtifactError("lists no files", file=where + ":manifest.json", check="manifest")
    own = [n for n in SKILL_OPTIONAL if n in files]
    if own != ([SKILL_VERSIONS[version]] if SKILL_VERSIONS[version] else []):
        listed = " and ".join(own) or "no slot encoder"
        raise ArtifactError(
            f"format version {version} with {listed} (version {version} has {SKILL_VERSIONS[version] or 'none'})",
            file=where + ":manifest.json",
            check="format_version",
        )
    # an optional member is checked like the others when either the archive or the manifest has it: one listed
    # but absent, or present but unlisted (added after the manifest was written), is refused
    for n in SKILL_FILES + tuple(n for n in SKILL_OPTIONAL if n in members or n in files):
        if n not in members:
            raise ArtifactError("member is missing", file=f"{where}:{n}", check="exists")
        if not isinstance(files.get(n), dict) or sha256_bytes(members[n]) != files[n].get("sha256"):
            raise ArtifactError("sha256 does not match the manifest", file=f"{where}:{n}", check="sha256")
        if files[n].get("size", len(members[n])) != len(members[n]):
            raise ArtifactError(
                f"size {len(members[n])} bytes, manifest says {files[n].get('size')}", file=f"{where}:{n}", check="size"
            )
    if base_manifest is not None:
        if manifest.get("base_id") != base_manifest.get("base_id"):
            raise ArtifactError(
                f"built for base {manifest.get('base_id')!r}, loaded base is {base_manifest.get('base_id')!r}",
                file=where,
                check="base_id",
            )
        if manifest.get("vocab_hash") != base_manifest.get("vocab_hash"):
            raise ArtifactError("vocabulary differs from the base's", file=where, check="vocab_hash")
        if manifest.get("dims") != base_manifest.get("dims"):
            raise ArtifactError("dimensions differ from the base's", file=where, check="dims")
    return manifest, members


def npz_arrays(data: bytes) -> dict:
    """The arrays of an ``.npz`` member (no pickles: a skill file is data, never code), read in full."""
    import numpy as np

    with np.load(io.BytesIO(data), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def npz_bytes(arrays: dict) -> bytes:
    import numpy as np

    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()
