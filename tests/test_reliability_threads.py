"""Reliability (issue 5.5): one NLU shared by 8 threads.

A mixed workload (routing, forced skills, skill subsets, n-best) parsed by 8 threads gives exactly the single-threaded
results; installing and removing skills while other threads parse never crashes nor returns a result from a
half-loaded skill (a result comes from the installed skill, or the call raises UnknownSkillError).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import edge_nlu
from edge_nlu.errors import UnknownSkillError
from tests.test_reliability_store import _variant

THREADS = 8
TEXTS = [
    "wake me up at seven tomorrow",
    "what's the weather like in paris",
    "set an alarm for 6 am",
    "is it going to rain this weekend",
    "how many cups in a gallon",
    "order a large pepperoni pizza",
    "ask pizza palace to order two small pizzas",
    "cancel my alarm",
    "",
    "\u202e\U0001f600 caf\u00e9 alarm \ud800",
]
KWARGS = [{}, {"skill": "alarm"}, {"skill": "pizza"}, {"skills": ["weather", "pizza"]}, {"n_best": 3}]


def test_threads_match_single_thread(tiny_model, pizza_skill, home):
    nlu = edge_nlu.load(tiny_model, home=home, max_resident=2)  # a small cap: threads also race on loads/evictions
    nlu.install_skill(pizza_skill, name="pizza")
    work = [(t, i) for _ in range(12) for t in TEXTS for i in range(len(KWARGS))]
    expected = {(t, i): nlu.parse(t, **KWARGS[i]).to_dict() for t, i in set(work)}

    def run(job):
        t, i = job
        return job, nlu.parse(t, **KWARGS[i]).to_dict()

    with ThreadPoolExecutor(THREADS) as pool:
        got = list(pool.map(run, work))
    assert len(got) == len(work)
    for job, d in got:
        assert d == expected[job], job
    print(f"RELIABILITY threads={THREADS}")
    print(f"RELIABILITY thread_parses={len(work)}")


def test_install_remove_while_parsing(tiny_model, pizza_skill, home, tmp_path):
    nlu = edge_nlu.load(tiny_model, home=home, max_resident=3)
    a = _variant(pizza_skill, tmp_path / "a.skill", "churn")
    nlu.install_skill(a, name="churn")
    text = "order a large pepperoni pizza"
    want = nlu.parse(text, skill="churn").to_dict()
    routed_ok = {nlu.parse(text).to_dict()["skill"], None} | set(nlu.skills)
    stop = threading.Event()
    errors: list[BaseException] = []
    counts = {"ok": 0, "unknown": 0}
    lock = threading.Lock()

    def parser(k: int) -> None:
        try:
            while not stop.is_set():
                try:
                    if k % 2:
                        d = nlu.parse(text, skill="churn").to_dict()
                        assert d == want, d  # the whole skill, never a half-loaded one
                    else:
                        d = nlu.parse(text).to_dict()  # routing over the enabled skills, churn among them
                        assert d["skill"] in routed_ok, d
                    with lock:
                        counts["ok"] += 1
                except UnknownSkillError:
                    with lock:
                        counts["unknown"] += 1
        except BaseException as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)

    workers = [threading.Thread(target=parser, args=(k,)) for k in range(THREADS - 1)]
    for w in workers:
        w.start()
    try:
        for k in range(40):
            if k % 2:
                nlu.install_skill(a, name="churn")
            else:
                nlu.remove_skill("churn")
            if k % 10 == 0:
                nlu.set_enabled("weather", k % 20 == 0)
    finally:
        nlu.install_skill(a, name="churn")
        nlu.set_enabled("weather", True)
        stop.set()
        for w in workers:
            w.join(60)
    assert not errors, errors[0]
    assert counts["ok"] > 0, counts
    assert nlu.parse(text, skill="churn").to_dict() == want
