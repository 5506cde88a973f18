"""The ``edge-nlu`` command line: mostly in-process through ``main([...])``, plus real subprocess runs."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from edge_nlu.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
PIZZA_TEXT = "ask pizza palace to order a large pepperoni pizza"


@pytest.fixture()
def cli(tiny_model, home, capsys):
    """Run ``edge-nlu --model <tiny> --home <tmp> ARGS``; returns (exit status, stdout, stderr)."""

    def run(*args: str, stdin: str | None = None, model: bool = True):
        if stdin is not None:
            sys_stdin, sys.stdin = sys.stdin, io.StringIO(stdin)
        try:
            opts = ["--model", str(tiny_model), "--home", str(home)] if model else ["--home", str(home)]
            code = main([*opts, *args])
        finally:
            if stdin is not None:
                sys.stdin = sys_stdin
        out, err = capsys.readouterr()
        return code, out, err

    return run


def _usage_error(code: int, out: str, err: str, *words: str) -> None:
    assert code == 2
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("edge-nlu: error: ")
    assert "Traceback" not in err
    for w in words:
        assert w in lines[0], (w, lines[0])


def _env(home: Path) -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "EDGE_NLU_HOME": str(home)}


# -- parse -----------------------------------------------------------------------------------------------------------
def test_parse_text(cli):
    code, out, err = cli("parse", "wake me up at 7 am", "--n-best", "3")
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 1
    r = json.loads(lines[0])
    assert r["text"] == "wake me up at 7 am" and 1 <= len(r["alternatives"]) <= 3
    for s in r["slots"]:
        assert r["text"][s["start"] : s["end"]] == s["value"]


def test_parse_options_after_or_before_the_command(cli, tiny_model, home, capsys):
    code, out, _ = cli("parse", "set an alarm", "--skill", "alarm")
    assert code == 0 and json.loads(out)["skill"] == "alarm"
    assert (
        main(["parse", "set an alarm", "--skills", "alarm,weather", "--model", str(tiny_model), "--home", str(home)])
        == 0
    )
    assert json.loads(capsys.readouterr().out)["skill"] in (None, "alarm", "weather")


def test_parse_stdin(cli):
    code, out, err = cli("parse", stdin="set an alarm\n\n" + "x" * 2001 + "\nwhat is the weather\n")
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["text"] for r in rows] == ["set an alarm", "", "x" * 2001, "what is the weather"]
    assert rows[1]["intent"] is None and rows[1]["out_of_scope"] is True
    assert set(rows[2]) == {"text", "error"} and "limit" in rows[2]["error"]
    assert "intent" in rows[3]


def test_parse_errors(cli):
    _usage_error(*cli("parse", "set an alarm", "--skill", "nope"), "nope")
    _usage_error(*cli("parse", "x", "--skills", "alarm,nope"), "nope")
    _usage_error(*cli("parse", "--skill", "nope", stdin="set an alarm\n"), "nope")
    _usage_error(*cli("parse", "x" * 2001), "limit")
    _usage_error(*cli("parse", "x", "--n-best", "0"), "n-best")
    _usage_error(*cli("parse", "x", "--n-best", "many"))
    _usage_error(*cli("parse", "x", "--skill", "a", "--skills", "b"))


def test_missing_model(cli, tmp_path):
    _usage_error(*cli("--model", str(tmp_path / "nowhere"), "parse", "hi", model=False), "nowhere")
    _usage_error(*cli("--model", str(tmp_path), "parse", "hi", model=False), "model")


def test_usage_errors(cli, capsys):
    _usage_error(*cli("frobnicate"), "frobnicate")
    _usage_error(*cli("skills"))
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("edge-nlu ")
    assert main(["parse", "--help"]) == 0
    assert "--n-best" in capsys.readouterr().out


# -- eval ------------------------------------------------------------------------------------------------------------
def _eval_file(tmp_path: Path) -> Path:
    rows = [
        {
            "text": "set an alarm for 7 am",
            "intent": "alarm_set",
            "skill": "alarm",
            "slots": [{"slot": "time", "start": 17, "end": 21, "value": "7 am"}],
        },
        {"text": "cancel my alarm", "intent": "alarm_remove", "skill": "alarm", "slots": []},
        {"text": "what's the weather like today", "intent": "weather_query", "skill": "weather", "slots": []},
        {"text": "is it going to rain", "intent": "weather_query", "skill": None, "slots": []},
        {"text": "what is the meaning of life", "intent": "oos", "skill": None, "slots": []},
    ]
    p = tmp_path / "small.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return p


@pytest.mark.parametrize("mode", [[], ["--route"], ["--skill", "alarm"], ["--route", "--skills", "alarm,weather"]])
def test_eval(cli, tmp_path, mode):
    code, out, err = cli("eval", str(_eval_file(tmp_path)), *mode)
    assert code == 0, err
    m = json.loads(out)
    assert m["n"] == 5 and m["seconds"] >= 0
    for k in ("intent_accuracy", "slot_f1", "exact_match", "oos_recall", "in_scope_accuracy"):
        assert 0.0 <= m[k] <= 1.0, k
    # precision of the out-of-scope answers: undefined (null) when nothing was answered out of scope
    assert m["oos_precision"] is None or 0.0 <= m["oos_precision"] <= 1.0


def test_eval_errors(cli, tmp_path):
    _usage_error(*cli("eval", str(tmp_path / "missing.jsonl")), "missing.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "hi", "intent": "x"}\nnot json\n')
    _usage_error(*cli("eval", str(bad)), "bad.jsonl:2")
    other = tmp_path / "other.jsonl"
    other.write_text('{"text": "hi", "intent": "x", "skill": "not_installed"}\n')
    _usage_error(*cli("eval", str(other)), "not_installed")
    _usage_error(*cli("eval", str(_eval_file(tmp_path)), "--route", "--skill", "alarm"))


# -- skills and build-skill ------------------------------------------------------------------------------------------
def test_skills_lifecycle(cli, pizza_skill, home, tiny_model):
    code, out, _ = cli("skills", "list")
    assert code == 0
    builtin = [line.split("\t") for line in out.splitlines()]
    assert {row[0] for row in builtin} >= {"alarm", "weather"}
    assert all(row[1] == "builtin" and row[2] == "yes" and int(row[3]) >= 1 for row in builtin)

    code, out, err = cli("skills", "install", str(pizza_skill), "--name", "pizza")
    assert code == 0, err
    assert json.loads(out)["installed"] == "pizza"
    assert list(home.rglob("pizza.skill")) and not list(tiny_model.rglob("pizza.skill"))
    rows = {line.split("\t")[0]: line.split("\t") for line in cli("skills", "list")[1].splitlines()}
    assert rows["pizza"][1:] == ["user", "yes", "5"]  # OrderPizza, CheckOrderStatus + 3 AMAZON built-ins

    code, out, _ = cli("skills", "info", "pizza")
    info = json.loads(out)
    assert code == 0 and info["name"] == "pizza" and info["built_as"] == "pizza_palace" and info["source"] == "user"
    assert {"OrderPizza", "CheckOrderStatus", "AMAZON.StopIntent"} <= set(info["intents"]) and info["size"] > 0
    assert {"size", "topping"} <= set(info["slots"])

    assert cli("skills", "disable", "pizza")[0] == 0
    assert cli("skills", "list")[1].count("pizza\tuser\tno") == 1
    assert cli("skills", "enable", "pizza")[0] == 0
    assert cli("skills", "remove", "pizza")[0] == 0
    assert "pizza" not in cli("skills", "list")[1]

    _usage_error(*cli("skills", "remove", "pizza"), "pizza")
    _usage_error(*cli("skills", "remove", "alarm"), "alarm")
    _usage_error(*cli("skills", "info", "nope"), "nope")
    _usage_error(*cli("skills", "enable", "nope"), "nope")
    _usage_error(*cli("skills", "install", str(home / "missing.skill")), "missing.skill")
    junk = home / "junk.skill"
    junk.write_bytes(b"PK\x03\x04 not really")
    _usage_error(*cli("skills", "install", str(junk)), "junk.skill")


def test_build_skill(cli, tmp_path):
    out_path = tmp_path / "lights.skill"
    code, out, err = cli("build-skill", str(FIXTURES / "lights_snips.json"), "-o", str(out_path), "--name", "lights")
    assert code == 0, err
    rep = json.loads(out)
    assert rep["name"] == "lights" and out_path.stat().st_size == rep["bytes"] <= 512 * 1024
    assert rep["encoder_bytes"] > 0  # the skill's own fine-tuned slot encoder, by default
    code, out, err = cli("skills", "install", str(out_path))
    assert code == 0 and json.loads(out)["installed"] == "lights"
    code, out, err = cli("skills", "info", "lights")
    assert code == 0 and json.loads(out)["slot_encoder"] in ("full", "delta")


def test_build_skill_no_finetune_is_smaller_and_parses(cli, tmp_path):
    tuned, plain = tmp_path / "tuned.skill", tmp_path / "plain.skill"
    args = ("build-skill", str(FIXTURES / "lights_snips.json"), "--name", "lights", "-o")
    assert cli(*args, str(tuned))[0] == 0
    code, out, err = cli(*args, str(plain), "--no-finetune")
    assert code == 0, err
    rep = json.loads(out)
    assert rep["encoder_bytes"] == 0 and rep["bytes"] < tuned.stat().st_size
    code, out, err = cli("skills", "install", str(plain))
    assert code == 0, err
    code, out, err = cli("parse", "turn on the lights in the kitchen", "--skill", "lights")
    assert code == 0 and json.loads(out)["skill"] == "lights"


def test_build_skill_with_gazetteer_parses_with_it(cli, tmp_path):
    out_path = tmp_path / "lights.skill"
    args = ("build-skill", str(FIXTURES / "lights_snips.json"), "-o", str(out_path), "--name", "lights")
    code, out, err = cli(*args, "--gazetteer")
    assert code == 0, err
    code, out, err = cli("skills", "install", str(out_path))
    assert code == 0, err
    code, out, err = cli("skills", "info", "lights")
    assert code == 0 and ",gz@" in out
    code, out, err = cli("parse", "turn on the lights in the kitchen of my house in Gambia", "--skill", "lights")
    assert code == 0 and json.loads(out)["skill"] == "lights"


def test_build_skill_records_a_joint_weight(cli, tmp_path):
    out_path = tmp_path / "pizza.skill"
    args = ("build-skill", str(FIXTURES / "pizza_alexa.json"), "-o", str(out_path), "--name", "pizza", "--no-finetune")
    code, out, err = cli(*args, "--joint-weight", "1")
    assert code == 0, err
    assert cli("skills", "install", str(out_path))[0] == 0
    code, out, err = cli("skills", "info", "pizza")
    info = json.loads(out)
    assert code == 0 and info["joint_weight"] == 1.0
    assert set(info["intent_slots"]) == set(info["intents"])  # every intent has its (possibly empty) slot list
    # an Alexa model declares each intent's slots: exactly those, not what its few samples leave open
    assert info["intent_slots"]["OrderPizza"] == ["count", "size", "topping"]
    assert info["intent_slots"]["CheckOrderStatus"] == [] and info["intent_slots"]["AMAZON.StopIntent"] == []
    code, out, err = cli("parse", "order a large pepperoni pizza", "--skill", "pizza")
    assert code == 0 and json.loads(out)["skill"] == "pizza"
    for bad in ("-1", "auto", "off", "x"):
        _usage_error(*cli(*args, "--joint-weight", bad), "--joint-weight")


def test_build_skill_errors(cli, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"interactionModel": {"languageModel": {"intents": 3}}}')
    _usage_error(*cli("build-skill", str(bad), "-o", str(tmp_path / "x.skill")), "bad.json")
    _usage_error(*cli("build-skill", str(tmp_path / "none.json"), "-o", str(tmp_path / "x.skill")), "none.json")
    _usage_error(
        *cli(
            "build-skill", str(FIXTURES / "restaurant_rasa.yml"), "--format", "alexa", "-o", str(tmp_path / "x.skill")
        ),
        "restaurant_rasa.yml",
    )
    _usage_error(*cli("build-skill", str(FIXTURES / "pizza_alexa.json"), "--format", "xml", "-o", "x.skill"))
    assert not (tmp_path / "x.skill").exists()


def test_bench(cli):
    code, out, err = cli("bench", "--n", "20")
    assert code == 0, err
    b = json.loads(out)
    assert b["n"] == 20
    for k in ("p50_ms", "p99_ms", "cpu_p50_ms", "cpu_p99_ms", "load_seconds", "peak_rss_mb"):
        assert b[k] > 0, k
    assert b["p50_ms"] <= b["p99_ms"]


# -- real processes ----------------------------------------------------------------------------------------------------
def test_subprocess_parse_and_stdin_streaming(tiny_model, pizza_skill, home):
    base = [sys.executable, "-m", "edge_nlu.cli", "--model", str(tiny_model)]
    env = _env(home)
    done = subprocess.run(
        [*base, "skills", "install", str(pizza_skill)], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    done = subprocess.run([*base, "parse", PIZZA_TEXT], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    r = json.loads(done.stdout)
    assert r["skill"] == "pizza_palace" and r["intent"] == "OrderPizza"

    # stdin mode answers each line before the next is written: proves it reads and flushes line by line
    proc = subprocess.Popen(
        [*base, "parse"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
    )
    try:
        for text in ("set an alarm", PIZZA_TEXT, "what is the weather"):
            proc.stdin.write(text + "\n")
            proc.stdin.flush()
            assert json.loads(proc.stdout.readline())["text"] == text
        proc.stdin.close()
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
        proc.wait()


def test_subprocess_errors(tiny_model, home, tmp_path):
    base = [sys.executable, "-m", "edge_nlu", "--model", str(tiny_model)]
    for args, word in (
        (["parse", "hi", "--skill", "nope"], "nope"),
        (["eval", str(tmp_path / "missing.jsonl")], "missing.jsonl"),
    ):
        done = subprocess.run([*base, *args], env=_env(home), capture_output=True, text=True, timeout=60)
        _usage_error(done.returncode, done.stdout, done.stderr, word)


def test_build_skill_checks_its_output_and_name_first(cli, tmp_path):
    src = FIXTURES / "lights_snips.json"
    _usage_error(*cli("build-skill", str(src), "-o", str(tmp_path)), "is a folder")
    copy = tmp_path / "lights.json"
    copy.write_bytes(src.read_bytes())
    _usage_error(*cli("build-skill", str(copy), "-o", str(copy)), "the definition itself")
    assert copy.read_bytes() == src.read_bytes()


def test_build_skill_writes_an_ordinary_file(cli, tmp_path):
    import os

    out_path = tmp_path / "lights.skill"
    code, _, err = cli("build-skill", str(FIXTURES / "lights_snips.json"), "-o", str(out_path), "--name", "lights")
    assert code == 0, err
    umask = os.umask(0)
    os.umask(umask)
    assert out_path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_warnings_reach_the_user(cli, pizza_skill):
    code, out, err = cli("skills", "install", str(pizza_skill), "--name", "alarm")
    assert code == 0 and json.loads(out)["installed"] == "alarm"
    assert err.startswith("edge-nlu: warning: ") and "replaces the embedded skill" in err


def test_build_skill_is_byte_identical_with_a_fixed_time(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764633600")
    paths = [tmp_path / "a.skill", tmp_path / "b.skill"]
    for p in paths:
        code, _, err = cli("build-skill", str(FIXTURES / "lights_snips.json"), "-o", str(p), "--name", "lights")
        assert code == 0, err
    assert paths[0].read_bytes() == paths[1].read_bytes()


def test_build_skill_name_picks_a_jsonl_skill_and_is_made_valid(cli, tmp_path):
    rows = [
        {"text": "order a pepperoni pizza", "intent": "Order", "skill": "pizza café", "slots": []},
        {"text": "order a large pizza", "intent": "Order", "skill": "pizza café", "slots": []},
        {"text": "cancel my pizza", "intent": "Cancel", "skill": "pizza café", "slots": []},
        {"text": "set an alarm", "intent": "Set", "skill": "other", "slots": []},
    ]
    src = tmp_path / "two.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, out, err = cli("build-skill", str(src), "-o", str(tmp_path / "p.skill"), "--name", "pizza café")
    assert code == 0, err
    assert json.loads(out)["name"] == "pizza_cafe" and "stored as 'pizza_cafe'" in err


def test_build_skill_rank_chooses_delta_or_full_copy(cli, tmp_path):
    """--rank R ships the fine-tuned slot encoder as a rank-R delta (much smaller than the whole copy, --rank 0)
    that installs and parses; a rank outside 0..64 is a usage error."""
    args = ("build-skill", str(FIXTURES / "lights_snips.json"), "--name", "lights", "-o")
    full, delta = tmp_path / "full.skill", tmp_path / "delta.skill"
    code, out, err = cli(*args, str(full), "--rank", "0")
    assert code == 0, err
    full_rep = json.loads(out)
    code, out, err = cli(*args, str(delta), "--rank", "4")
    assert code == 0, err
    rep = json.loads(out)
    assert 0 < rep["encoder_bytes"] < full_rep["encoder_bytes"] / 2
    assert cli("skills", "install", str(delta))[0] == 0
    code, out, err = cli("skills", "info", "lights")
    assert code == 0 and json.loads(out)["slot_encoder"] == "delta"
    code, out, err = cli("parse", "turn on the lights in the kitchen", "--skill", "lights")
    assert code == 0 and json.loads(out)["skill"] == "lights"
    code, out, err = cli(*args, str(tmp_path / "x.skill"), "--rank", "-1")
    assert code == 2 and "rank" in err
