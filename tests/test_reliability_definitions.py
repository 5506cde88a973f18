"""Reliability (issue 5.2): malformed skill definitions give one clear DefinitionError, never a traceback.

Every reader (Alexa, Snips, Rasa, JSONL, through ``read_definition``'s detection too) is fed mutated files: truncated,
wrong types, huge values, deep nesting, duplicate keys, invalid UTF-8, NULs. The outcome is a definition whose slot
offsets hold, or a DefinitionError naming the file (and the line or field where there is one). A few go through the
``edge-nlu build-skill`` command line (exit 2, one line on stderr). tests/test_readers.py has the fixture-level cases.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edge_nlu.definitions import DefinitionError, read_definition, read_snips
from edge_nlu.definitions.jsonl import write_jsonl
from tests.test_readers import ALEXA, RASA, SNIPS, _mutate_bytes, _mutate_json, _mutate_yaml, check_spans

PER_FORMAT = 300  # 4 formats: 1,200 mutated files
BOUND_S = 5.0  # CPU seconds per file; a reader is milliseconds, this only catches a runaway
EXT = {"alexa": ".json", "snips": ".json", "rasa": ".yml", "jsonl": ".jsonl"}


def _jsonl_base() -> str:
    p = Path(os.environ.get("TMPDIR", "/tmp")) / f"edge-nlu-rel-{os.getpid()}.jsonl"
    rows = read_snips(SNIPS).utterances()
    write_jsonl(rows, p)
    text = p.read_text(encoding="utf-8")
    p.unlink()
    extra = [
        {"text": "r\u00e9veille-moi \u00e0 7h \U0001f600", "intent": "wake", "skill": "lights_snips"},
        {"text": "line\u2028separator and \x85 next-line", "intent": "wake", "skill": "lights_snips"},
        {"text": "\u05e9\u05dc\u05d5\u05dd kitchen", "intent": "turnLightOn",
         "slots": [{"slot": "room", "start": 5, "end": 12}]},
    ]  # fmt: skip
    return text + "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in extra)


BASES = {"alexa": ALEXA.read_text(), "snips": SNIPS.read_text(), "rasa": RASA.read_text(), "jsonl": _jsonl_base()}


# -- mutations beyond tests/test_readers.py's ---------------------------------------------------------------------
def _truncate(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randrange(len(data))]


def _bad_utf8(rng: random.Random, data: bytes) -> bytes:
    junk = rng.choice([b"\xff", b"\xc3", b"\xe2\x82", b"\x80", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf8\x88\x80\x80\x80"])
    i = rng.randrange(len(data) + 1)
    return data[:i] + junk + data[i:]


def _nul_bom(rng: random.Random, data: bytes) -> bytes:
    i = rng.randrange(len(data) + 1)
    return rng.choice([b"\xef\xbb\xbf" + data, data[:i] + b"\x00" + data[i:], data[:i] + b"\x00" * 1000])


def _huge(rng: random.Random, text: str, fmt: str) -> str:
    """Replace one string value (or append one) with something huge."""
    big = rng.choice(
        [
            '"' + "x" * 1_000_000 + '"',
            "9" * 5000,  # over Python's int conversion limit
            "1e400",
            "-0",
            "[" + ",".join(['"a"'] * 20_000) + "]",
            '"' + "{slot}" * 2000 + '"',
            '"' + "\\ud800" * 50 + '"',
            "[" * 3000 + "]" * 3000,
        ]
    )
    if fmt == "rasa":
        lines = text.split("\n")
        i = rng.randrange(len(lines))
        lines.insert(i, (lines[i][: len(lines[i]) - len(lines[i].lstrip())]) + "- " + big.strip('"')[:200_000])
        return "\n".join(lines)
    quotes = [i for i, c in enumerate(text) if c == '"']
    if len(quotes) < 2:
        return text
    k = rng.randrange(len(quotes) - 1)
    a, b = quotes[k], quotes[k + 1]
    return text[:a] + big + text[b + 1 :]


def _dup_key(rng: random.Random, text: str, fmt: str) -> str:
    """Duplicate one line holding a key (JSON: a duplicate key in an object; YAML: a repeated mapping key)."""
    lines = text.split("\n")
    keyed = [i for i, ln in enumerate(lines) if ('":' in ln if fmt != "rasa" else ":" in ln)]
    if not keyed:
        return text
    i = rng.choice(keyed)
    ln = lines[i]
    if fmt == "jsonl":  # one object a line: repeat its first key
        j = ln.find('":')
        k = ln.rfind('"', 0, j)
        return "\n".join(lines[:i] + [ln[:1] + ln[k:j] + '": 1, ' + ln[1:]] + lines[i + 1 :])
    extra = ln if ln.rstrip().endswith(",") or fmt == "rasa" else ln + ","
    return "\n".join(lines[:i] + [extra] + lines[i:])


def _mutate_jsonl(rng: random.Random, text: str) -> str:
    lines = [ln for ln in text.split("\n") if ln]
    i = rng.randrange(len(lines))
    op = rng.randrange(4)
    if op == 0:
        lines[i] = _mutate_json(rng, lines[i]).replace("\n", " ")
    elif op == 1:
        lines.insert(i, rng.choice(["{", "[]", "null", '"text"', "{}", '{"text": ""}', '{"text": 3}', "\t"]))
    elif op == 2:
        lines = rng.choice([[], ["", "   "], lines[:1] * 3])
    else:
        row = json.loads(lines[i])
        row["slots"] = rng.choice(
            [
                [{"slot": "x", "start": 0, "end": 10**6}],
                [{"slot": "x", "start": -1, "end": 2}],
                [{"slot": "x", "start": 0, "end": 2}, {"slot": "y", "start": 1, "end": 3}],
                [{"slot": "", "start": 0, "end": 1}],
                [{"slot": "x", "start": 0, "end": 1, "value": "nope"}],
                [{"slot": "x", "start": True, "end": 1}],
                {"slot": "x"},
            ]
        )
        lines[i] = json.dumps(row)
    return "\n".join(lines) + "\n"


def mutate(rng: random.Random, fmt: str, k: int) -> bytes:
    """The k-th mutation of the format's base file (every kind in turn)."""
    text = BASES[fmt]
    data = text.encode("utf-8")
    kind = k % 8
    if kind == 0:
        return _truncate(rng, data)
    if kind == 1:
        return _bad_utf8(rng, data)
    if kind == 2:
        return _nul_bom(rng, data)
    if kind == 3:
        return _huge(rng, text, fmt).encode("utf-8", "surrogatepass")
    if kind == 4:
        return _dup_key(rng, text, fmt).encode("utf-8")
    if kind == 5:
        return _mutate_bytes(rng, data)
    if fmt == "rasa":
        return _mutate_yaml(rng, text).encode("utf-8")
    if fmt == "jsonl":
        return _mutate_jsonl(rng, text).encode("utf-8")
    return _mutate_json(rng, text).encode("utf-8")  # wrong types, deep nesting (kinds 6 and 7)


def check_error(e: DefinitionError, path: Path) -> None:
    """One clear error: names the file, says where (line or field) when it can, fits on one line."""
    assert e.file == str(path), str(e)
    text = str(e)
    assert text.startswith(str(path)) and "\n" not in text and e.message.strip(), text
    assert "Traceback" not in text and len(text) < 2000, text[:300]


@pytest.mark.parametrize("fmt", ["alexa", "snips", "rasa", "jsonl"])
def test_mutated_definitions(tmp_path, fmt):
    rng = random.Random(f"reliability-{fmt}")
    outcomes = {"ok": 0, "error": 0, "located": 0}
    worst = 0.0
    for k in range(PER_FORMAT):
        data = mutate(rng, fmt, k)
        p = tmp_path / f"skill{EXT[fmt]}"
        p.write_bytes(data)
        # the named reader, and read_definition's own detection for half of them
        fmt_arg = fmt if k % 2 else None
        t0 = time.process_time()
        try:
            d = read_definition(p, format=fmt_arg)
        except DefinitionError as e:
            check_error(e, p)
            outcomes["error"] += 1
            outcomes["located"] += e.line is not None or e.field is not None
        except Exception as e:  # a reader bug: fail with the input that caused it
            raise AssertionError(f"{fmt} variant {k} raised {type(e).__name__}: {e}\n{data[:400]!r}") from e
        else:
            check_spans(d)
            outcomes["ok"] += 1
        took = time.process_time() - t0
        worst = max(worst, took)
        assert took < BOUND_S, f"{fmt} variant {k} took {took:.1f} s"
    print(f"RELIABILITY mutated_files_{fmt}={PER_FORMAT}")
    assert outcomes["error"] >= PER_FORMAT // 3, outcomes
    assert outcomes["located"] >= outcomes["error"] * 0.6, outcomes  # most errors say the line or the field


@pytest.mark.parametrize("fmt", ["alexa", "snips", "rasa", "jsonl"])
def test_specific_malformations(tmp_path, fmt):
    """One of each named kind, each a DefinitionError naming the file."""
    text = BASES[fmt]
    cases = {
        "empty": b"",
        "whitespace": b" \n\t\n",
        "truncated": text.encode()[: len(text) // 2],
        "invalid_utf8": text.encode()[:40] + b"\xff\xfe" + text.encode()[40:],
        "nul": b"\x00" * 64,
        "binary": bytes(range(256)) * 4,
        "deep": (b"[" * 100_000 + b"]" * 100_000) if fmt != "rasa" else b"a:\n" + b"- " * 5000 + b"x\n",
    }
    if fmt != "rasa":
        cases["huge_int"] = b'{"a": ' + b"9" * 5000 + b"}"
        cases["wrong_top_type"] = b"[1, 2, 3]" if fmt != "jsonl" else b"[1, 2, 3]\n"
        cases["dup_key"] = b'{"a": 1, "a": 2}' if fmt != "jsonl" else b'{"text": "hi", "text": "ho", "intent": "x"}\n'
    for kind, data in cases.items():
        p = tmp_path / f"{kind}{EXT[fmt]}"
        p.write_bytes(data)
        with pytest.raises(DefinitionError) as ei:
            read_definition(p, format=fmt)
        check_error(ei.value, p)


def test_jsonl_round_trips_line_separators(tmp_path):
    """write_jsonl writes U+2028 / U+0085 / \\x1c unescaped: read_jsonl must not split lines on them."""
    from edge_nlu.definitions import read_jsonl
    from edge_nlu.definitions.model import SlotSpan, Utterance

    text = "a\u2028b \x85 c\x1cd\x1e kitchen \u2029"
    i = text.index("kitchen")
    rows = [Utterance(text, "turnLightOn", [SlotSpan("room", i, i + 7, "kitchen")], "s")]
    p = tmp_path / "x.jsonl"
    write_jsonl(rows, p)
    back = read_jsonl(p)
    assert [u.to_dict() for u in back] == [u.to_dict() for u in rows]


# -- through the command line ----------------------------------------------------------------------------------------
def test_cli_build_skill_malformed(tmp_path, capsys):
    from edge_nlu.cli import main

    rng = random.Random("reliability-cli")
    n = 0
    for fmt in ("alexa", "snips", "rasa", "jsonl"):
        for k in range(6):
            data = mutate(rng, fmt, k)  # truncation, bad UTF-8, NULs, huge values, duplicate keys, byte flips
            p = tmp_path / f"def{k}{EXT[fmt]}"
            p.write_bytes(data)
            try:
                read_definition(p)
            except DefinitionError:
                pass
            else:
                continue  # still a valid definition: build-skill would compile it (not this test's concern)
            capsys.readouterr()  # warnings of the direct read above (the CLI's warning handler is installed)
            code = main(["--model", str(tmp_path / "no-model"), "build-skill", str(p), "-o", str(tmp_path / "o.skill")])
            out, err = capsys.readouterr()
            assert code == 2 and out == "", (code, out, err)
            lines = err.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("edge-nlu: error: ") and str(p) in lines[0], err
            n += 1
    assert n >= 12
    # a real process: exit 2, one line, no traceback
    bad = tmp_path / "bad.json"
    bad.write_bytes(b'{"interactionModel": {"languageModel": {"intents": [' + b"9" * 5000 + b"]}}}")
    for f in (bad, tmp_path / "def0.jsonl"):
        p = subprocess.run(
            [sys.executable, "-m", "edge_nlu", "build-skill", str(f), "-o", str(tmp_path / "o.skill")],
            capture_output=True,
            text=True,
            env={**os.environ, "OMP_NUM_THREADS": "1"},
            timeout=120,
        )
        assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr
        assert len(p.stderr.strip().splitlines()) == 1 and str(f) in p.stderr, p.stderr
