"""Reliability (issue 5.1): fuzzed parsing through parse, parse_batch and the stdin CLI.

Any text gives a well-formed result or InputError (over the length limit, not a string), never a crash or a hang;
slot offsets index the original text; each call stays under a generous time bound. The parse property runs 10,000
examples under the "ci" hypothesis profile (tests/_hypothesis.py).
"""

from __future__ import annotations

import io
import json
import math
import os
import subprocess
import sys
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import edge_nlu
from edge_nlu.errors import InputError
from edge_nlu.result import ParseResult
from edge_nlu.runtime.nlu import MAX_CHARS
from tests._hypothesis import scaled

# per parse call, in CPU seconds of this process (not wall time: CI machines are shared and a parse can wait
# for a core): a hang or blow-up detector, not a speed test; a 2,000-character utterance takes ~40 ms
BOUND_S = 2.0
WORDS = [
    "set", "an", "alarm", "for", "7", "am", "seven", "thirty", "wake", "me", "up", "at", "tomorrow", "weather",
    "in", "paris", "rain", "is", "it", "going", "to", "cancel", "my", "what's", "the", "how", "many", "cups",
    "ask", "tell", "open", "pizza", "palace", "order", "large", "pepperoni", "please", "and", ",", "?", "!",
]  # fmt: skip
SPECIAL = [
    "\u0301", "e\u0301", "\u202e", "\u200f", "\u200d", "\u200b", "\U0001f600", "\U0001f3f3\ufe0f\u200d\U0001f308",
    "\x00", "\x1b", "\x7f", "\ud800", "\udfff", "\udcff", "\ufeff", "\ufffd", "\u3000", "\xa0", "\t", "\n", "\r",
    "\x85", "\u2028", "\u2029", "\xdf", "\u0130", "\ufb01", "\u0661\u0662", "\U000e0001", "\u0600", "\u05d0\u05d1",
    "\u0627\u0644\u0633\u0644\u0627\u0645", "\u4f60\u597d", "\uff53\uff45\uff54", "_", "'", '"', "\\", "{slot}",
]  # fmt: skip
_CHAR = st.one_of(st.characters(), st.characters(categories=["Cs"]))  # every code point, unpaired surrogates too
_TOKEN = st.one_of(st.sampled_from(WORDS), st.sampled_from(SPECIAL), st.text(_CHAR, min_size=1, max_size=6))
_WS = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2028\u2029\u202f\u205f\u3000"
TEXTS = st.one_of(
    st.lists(_TOKEN, max_size=25).map(" ".join),  # utterance-like, with odd tokens mixed in
    st.lists(_TOKEN, max_size=25).map("".join),  # no spaces at all
    st.text(_CHAR, max_size=120),  # arbitrary code points
    st.text(st.sampled_from(_WS), max_size=40),  # whitespace only (and empty)
    st.tuples(st.sampled_from(WORDS + SPECIAL), st.integers(1, MAX_CHARS + 50)).map(lambda t: t[0] * t[1]),  # long
    st.tuples(st.sampled_from(["a", " ", "\U0001f600", "\u0301", "word "]), st.integers(50_000, 100_000)).map(
        lambda t: t[0] * t[1]
    ),  # 100 kB: refused by policy, quickly
)
KWARGS = st.sampled_from([{}, {}, {"skill": "alarm"}, {"skills": ["alarm", "weather"]}, {"n_best": 3}])


@pytest.fixture(scope="module")
def fnlu(tiny_model, tmp_path_factory):
    """One NLU for the whole module (hypothesis reuses it across examples)."""
    return edge_nlu.load(tiny_model, home=tmp_path_factory.mktemp("home"))


def check_result(nlu, r: ParseResult, text: str) -> None:
    """The invariants of a well-formed result for ``text``."""
    assert isinstance(r, ParseResult)
    assert r.text == text
    assert isinstance(r.out_of_scope, bool) and isinstance(r.truncated, bool)
    assert math.isfinite(r.confidence) and 0.0 <= r.confidence <= 1.0 + 1e-6
    if r.out_of_scope:
        assert r.skill is None and r.intent is None and r.slots == []
    else:
        assert r.skill in nlu.skills and r.intent in nlu.skill(r.skill).intents
    prev_end = 0
    for s in r.slots:
        assert 0 <= s.start < s.end <= len(text), s
        assert text[s.start : s.end] == s.value, (text, s)  # offsets index the original text
        assert s.start >= prev_end, r.slots  # sorted, not overlapping
        prev_end = s.end
    conf = [a.confidence for a in r.alternatives]
    assert conf == sorted(conf, reverse=True) and all(0.0 <= c <= 1.0 + 1e-6 for c in conf)
    d = json.loads(r.to_json())
    assert d["text"] == text and len(d["slots"]) == len(r.slots)


def timed_parse(nlu, text, **kw):
    t0 = time.process_time()
    try:
        return nlu.parse(text, **kw)
    finally:
        took = time.process_time() - t0
        assert took < BOUND_S, f"parse took {took:.3f} s for a text of {len(text)} characters"


@given(text=TEXTS, kw=KWARGS)
def test_parse_fuzz(fnlu, text, kw):
    if len(text) > MAX_CHARS:
        with pytest.raises(InputError, match="limit"):
            timed_parse(fnlu, text, **kw)
        return
    check_result(fnlu, timed_parse(fnlu, text, **kw), text)


def test_parse_fuzz_count():
    print(f"RELIABILITY inputs_fuzzed={settings.default.max_examples}")


@settings(max_examples=scaled(0.02))
@given(texts=st.lists(TEXTS, max_size=6), kw=KWARGS)
def test_parse_batch_fuzz(fnlu, texts, kw):
    t0 = time.process_time()
    if any(len(t) > MAX_CHARS for t in texts):
        with pytest.raises(InputError, match="limit"):
            fnlu.parse_batch(texts, **kw)
        return
    out = fnlu.parse_batch(texts, **kw)
    assert time.process_time() - t0 < BOUND_S * max(1, len(texts))
    assert len(out) == len(texts)
    for text, r in zip(texts, out, strict=True):
        check_result(fnlu, r, text)
        assert r.to_dict() == fnlu.parse(text, **kw).to_dict()  # one encoder call per utterance: identical


@settings(max_examples=scaled(0.01))
@given(bad=st.one_of(st.none(), st.integers(), st.floats(), st.binary(max_size=20), st.lists(st.text(max_size=3))))
def test_non_strings_are_input_errors(fnlu, bad):
    with pytest.raises(InputError):
        fnlu.parse(bad)
    with pytest.raises(InputError):
        fnlu.parse_batch([bad])
    with pytest.raises(InputError):
        fnlu.parse_batch(["fine", bad])


# -- the CLI reading stdin -------------------------------------------------------------------------------------------
_LINE = TEXTS.map(lambda t: t.replace("\n", " ").replace("\r", " "))  # one utterance a line


def _as_json_reads(text: str) -> str:
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


@settings(max_examples=scaled(0.005))
@given(lines=st.lists(_LINE, min_size=1, max_size=5))
def test_cli_stdin_fuzz(tiny_model, tmp_path_factory, lines):
    from edge_nlu.cli import main

    home = tmp_path_factory.mktemp("cli-home")
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdin, sys.stdout, sys.stderr
    sys.stdin, sys.stdout, sys.stderr = io.StringIO("\n".join(lines) + "\n"), out, err
    try:
        code = main(["--model", str(tiny_model), "--home", str(home), "parse"])
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
    assert code == 0 and err.getvalue() == "", err.getvalue()
    got = out.getvalue().split("\n")
    assert got[-1] == "" and len(got) - 1 == len(lines)
    for line, row in zip(lines, got, strict=False):
        d = json.loads(row)
        # JSON has no way to keep two lone surrogates that happen to form a pair apart: "\ud800\udc00" reads back
        # as U+10000 (a lone surrogate is written as an escape and reads back as itself)
        assert d["text"] == _as_json_reads(line)
        if len(line) > MAX_CHARS:
            assert "limit" in d["error"]
        else:
            for s in d["slots"]:
                assert _as_json_reads(line[s["start"] : s["end"]]) == s["value"]


def test_cli_stdin_raw_bytes(tiny_model, tmp_path):
    """A real process fed bytes that are not UTF-8, NULs and control characters: one JSON line per input line."""
    lines = [
        b"wake me up at 7 am",
        b"caf\xe9 \xff\xfe in paris",  # not UTF-8
        b"\x00\x01\x02 set an alarm \x1b[31m",
        b"\xed\xa0\x80 surrogate in UTF-8",  # an encoded surrogate is not valid UTF-8 either
        "\u202e\u05d0 \U0001f600 weather \u0301".encode(),
        b"",
        b"   ",
        b"a" * (MAX_CHARS + 1),
        b"x" * 100_000,
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONIOENCODING": "", "PYTHONUTF8": "0", "LC_ALL": "C.UTF-8"}
    cmd = [sys.executable, "-m", "edge_nlu", "--model", str(tiny_model), "--home", str(tmp_path), "parse"]
    p = subprocess.run(cmd, input=b"\n".join(lines) + b"\n", capture_output=True, env=env, timeout=120)
    assert p.returncode == 0, p.stderr.decode(errors="replace")
    assert b"Traceback" not in p.stderr and p.stderr == b""
    rows = [json.loads(x) for x in p.stdout.decode("utf-8").splitlines()]
    assert len(rows) == len(lines)
    for raw, d in zip(lines, rows, strict=True):
        assert d["text"] == raw.decode("utf-8", errors="replace")
        if len(d["text"]) > MAX_CHARS:
            assert "limit" in d["error"]
        else:
            for s in d["slots"]:
                assert d["text"][s["start"] : s["end"]] == s["value"]
    # a lone surrogate given on the command line (bytes that are not UTF-8 arrive as surrogate escapes)
    p = subprocess.run([*cmd, b"caf\xe9 alarm".decode("utf-8", "surrogateescape")], capture_output=True, env=env)
    assert p.returncode == 0 and b"Traceback" not in p.stderr, p.stderr
    assert json.loads(p.stdout)["text"] == "caf\udce9 alarm"
