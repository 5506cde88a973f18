"""The ``edge-nlu`` command line: parse, eval, build-skill, skills, bench.

Every command prints JSON (``skills list`` prints one skill a line). A user mistake (unknown skill, unreadable file,
bad definition, corrupted artifact, refused input) prints one line ``edge-nlu: error: ...`` on stderr and exits 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from edge_nlu import __version__
from edge_nlu.errors import EdgeNLUError, MissingExtraError

PROG = "edge-nlu"
EXIT_USAGE = 2
CHUNK = 256  # utterances per parse_batch call in eval
DEFAULT_MODEL = Path(__file__).resolve().parent / "models" / "default"

# what ``bench`` parses (cycled up to --n): varied lengths, in-scope for common assistant skills and not
BENCH_UTTERANCES = (
    "set an alarm for seven thirty tomorrow morning",
    "wake me up at 6 am",
    "what's the weather like in paris today",
    "will it rain this weekend in seattle",
    "play some jazz music by miles davis",
    "add this song to my road trip playlist",
    "book a table for four at an italian restaurant tonight",
    "rate this book five out of six stars",
    "find the movie schedule at the nearest cinema",
    "turn off the lights in the kitchen",
    "what time is it in tokyo",
    "remind me to call mom at noon",
    "how do you say thank you in japanese",
    "what is my checking account balance",
    "cancel my alarm",
    "tell me a joke",
    "how many miles from new york to boston",
    "set a timer for fifteen minutes",
    "is it going to be sunny in san francisco on friday afternoon",
    "i would like to hear the latest album from taylor swift on spotify please",
    "what's the exchange rate from dollars to euros",
    "hello",
    "show me the forecast for the next five days in the city where i was born",
    "order a large pepperoni pizza",
)


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake in one line (and exits 2) instead of usage + error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{PROG}: error: {message} (see '{self.prog} --help')\n")


JOINT_HELP = (
    "joint intent-slot decoding: 'auto' (default) each skill's own weight, 'off', or a weight W >= 0 for every skill"
)


def _record_weight(value: str) -> float:
    from edge_nlu.runtime.skill import is_weight

    try:
        w = float(value)
    except ValueError:
        w = -1.0
    if not is_weight(w):
        raise argparse.ArgumentTypeError(f"expected a number >= 0, not {value!r}")
    return w


def _joint_weight(value: str) -> float | str | None:
    if value in ("auto", "off"):
        return None if value == "off" else value
    try:
        return _record_weight(value)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected 'auto', 'off' or a number >= 0, not {value!r}") from None


def _common(suppress: bool) -> argparse.ArgumentParser:
    """Options accepted before or after the command (the sub-parser copy must not overwrite a value given first)."""
    d = (lambda v: argparse.SUPPRESS) if suppress else (lambda v: v)
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument("--model", metavar="DIR", default=d(None), help="model folder (default: the embedded model)")
    p.add_argument("--threads", type=int, metavar="N", default=d(1), help="onnxruntime threads (default 1)")
    p.add_argument("--home", metavar="DIR", default=d(None), help="user skill store (overrides $EDGE_NLU_HOME)")
    p.add_argument("-v", "--verbose", action="count", default=d(0), help="log progress (-vv: debug)")
    return p


def build_parser() -> argparse.ArgumentParser:
    common = _common(suppress=True)
    ap = _Parser(prog=PROG, description="On-device intent and slot parsing.", parents=[_common(suppress=False)])
    ap.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("parse", parents=[common], help="parse TEXT, or stdin line by line (one JSON a line)")
    p.add_argument("text", nargs="?", metavar="TEXT", help="the utterance (omit to read lines from stdin)")
    p.add_argument("--skill", metavar="S", help="parse with this skill (no routing)")
    p.add_argument("--skills", metavar="A,B", help="route among these skills only")
    p.add_argument("--n-best", type=int, default=1, metavar="K", help="alternatives to return (default 1)")
    p.add_argument("--joint-weight", type=_joint_weight, default="auto", metavar="W", help=JOINT_HELP)
    p.set_defaults(func=cmd_parse)

    p = sub.add_parser("eval", parents=[common], help="score a normalised JSONL file")
    p.add_argument("file", metavar="FILE.jsonl")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--route", action="store_true", help="give no skill: route among the file's skills (or --skills)")
    g.add_argument("--skill", metavar="S", help="parse every row with skill S")
    p.add_argument("--skills", metavar="A,B", help="skills to route among (default: those occurring in the file)")
    p.add_argument("--per-slot", action="store_true", help="include per-slot scores")
    p.add_argument("--joint-weight", type=_joint_weight, default="auto", metavar="W", help=JOINT_HELP)
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("build-skill", parents=[common], help="compile a skill definition into a .skill file")
    p.add_argument("definition", metavar="DEFINITION")
    p.add_argument("-o", "--output", required=True, metavar="NAME.skill")
    p.add_argument("--format", choices=_formats(), help="definition format (default: detected)")
    p.add_argument("--name", help="skill name (default: from the definition)")
    p.add_argument(
        "--gazetteer",
        action="store_true",
        help="built-in country / US state / city features, and gazetteer names for place slots' augmentation",
    )
    p.add_argument(
        "--no-finetune",
        action="store_true",
        help="heads only on the base's encoder: no fine-tuned encoder copy in the skill (smaller, one "
        "encoder pass per parse instead of two; lower slot F1 with few examples)",
    )
    p.add_argument(
        "--rank",
        type=_rank,
        metavar="R",
        help="ship the fine-tuned slot encoder as a rank-R delta of the base's weights (~7 KB per unit of rank), "
        "or 0 for the whole int8 copy (~290 KB); default: the compiler's",
    )
    p.add_argument(
        "--joint-weight",
        type=_record_weight,
        metavar="W",
        help="record joint intent-slot decoding weight W >= 0 in the skill, used by parses by default (default: "
        "0 for an Alexa model, whose intents declare their slots: a parse keeps to its intent's slots; else none, off)",
    )
    p.set_defaults(func=cmd_build_skill)

    p = sub.add_parser("skills", parents=[common], help="list, install, remove, inspect, enable or disable skills")
    ss = p.add_subparsers(dest="action", metavar="ACTION", parser_class=_Parser)
    ss.required = True
    ss.add_parser("list", parents=[common], help="one skill a line: name, source, enabled, intents")
    q = ss.add_parser("install", parents=[common], help="verify and install a .skill file into the user store")
    q.add_argument("path", metavar="PATH")
    q.add_argument("--name", help="install under this name (default: the skill's own)")
    for action, text in (
        ("remove", "remove a user-installed skill"),
        ("info", "print a skill's details as JSON"),
        ("enable", "route to this skill"),
        ("disable", "do not route to this skill"),
    ):
        ss.add_parser(action, parents=[common], help=text).add_argument("name", metavar="NAME")
    p.set_defaults(func=cmd_skills)

    p = sub.add_parser("bench", parents=[common], help="latency (wall and CPU), load time and peak RSS")
    p.add_argument("--n", type=int, default=300, metavar="N", help="utterances to parse (default 300)")
    p.set_defaults(func=cmd_bench)
    return ap


def _rank(text: str) -> int:
    try:
        r = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 <= r <= 64:
        raise argparse.ArgumentTypeError(f"{r}: the delta's rank is 1 to 64 (0: the whole encoder copy)")
    return r


def _formats() -> tuple[str, ...]:
    return ("alexa", "snips", "rasa", "jsonl", "bio")  # = edge_nlu.definitions.FORMATS, without importing readers


# -- helpers -------------------------------------------------------------------------------------------------------
def _model_dir(args: argparse.Namespace) -> Path:
    if args.model is not None:
        return Path(args.model)
    if not (DEFAULT_MODEL / "base").is_dir():
        raise EdgeNLUError(
            f"the embedded default model is missing from {DEFAULT_MODEL}; pass --model DIR or reinstall edge-nlu"
        )
    return DEFAULT_MODEL


def _load(args: argparse.Namespace):
    from edge_nlu import load

    if args.threads < 1:
        raise EdgeNLUError(f"--threads must be at least 1, not {args.threads}")
    joint = getattr(args, "joint_weight", "auto")
    return load(_model_dir(args), home=args.home, threads=args.threads, joint_weight=joint)


def _names(value: str | None) -> list[str] | None:
    if value is None:
        return None
    names = [s.strip() for s in value.split(",") if s.strip()]
    if not names:
        raise EdgeNLUError("--skills needs at least one skill name")
    return names


def _emit(obj: Any) -> None:
    line = obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False)
    try:
        line.encode("utf-8")
    except UnicodeEncodeError:  # an unpaired surrogate (e.g. argv bytes that are not UTF-8): write it as a JSON escape
        try:
            line = json.dumps(json.loads(line), ensure_ascii=True)
        except ValueError:  # not JSON (``skills list``)
            line = line.encode("utf-8", "backslashreplace").decode("utf-8")
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _one_line(e: BaseException) -> str:
    msg = str(e) or e.__class__.__name__
    if isinstance(e, OSError) and e.filename is not None and e.strerror:
        msg = f"{e.filename}: {e.strerror}"
    return " ".join(msg.split())


# -- commands ------------------------------------------------------------------------------------------------------
def cmd_parse(args: argparse.Namespace) -> int:
    if args.skill is not None and args.skills is not None:
        raise EdgeNLUError("give --skill or --skills, not both")
    if args.n_best < 1:
        raise EdgeNLUError(f"--n-best must be at least 1, not {args.n_best}")
    nlu = _load(args)
    skills = _names(args.skills)
    kw = {"skill": args.skill, "skills": skills, "n_best": args.n_best}
    if args.text is not None:
        _emit(nlu.parse(args.text, **kw).to_json())
        return 0
    nlu.parse_batch([], **kw)  # an unknown --skill/--skills is an error for the whole run, before any input
    if hasattr(sys.stdin, "reconfigure"):  # bytes that are not UTF-8 become U+FFFD, not a UnicodeDecodeError
        sys.stdin.reconfigure(errors="replace")
    for line in _lines(sys.stdin):
        try:
            out = nlu.parse(line, **kw).to_json()
        except EdgeNLUError as e:  # e.g. over the length limit: report it for this line and go on
            out = json.dumps({"text": line, "error": _one_line(e)}, ensure_ascii=False)
        _emit(out)
    return 0


def _lines(stream) -> Iterator[str]:
    """Lines of ``stream`` without their line ending, read one at a time (interactive use sees each result)."""
    while True:
        line = stream.readline()
        if not line:
            return
        yield line.rstrip("\r\n")


def cmd_eval(args: argparse.Namespace) -> int:
    from edge_nlu.definitions.jsonl import read_jsonl
    from edge_nlu.limits import MAX_CHARS
    from edge_nlu.metrics import evaluate_skills

    gold = read_jsonl(args.file, max_chars=MAX_CHARS)
    nlu = _load(args)
    listed = _names(args.skills)
    in_file = sorted({u.skill for u in gold if u.skill})
    route_among = listed if listed is not None else (in_file or None)  # None: every enabled skill
    groups: dict[tuple[str | None, bool], list[int]] = {}  # (forced skill, routed) -> row indices
    for i, u in enumerate(gold):
        if args.skill is not None:
            key = (args.skill, False)
        elif args.route or u.skill is None:
            key = (None, True)
        else:
            key = (u.skill, False)
        groups.setdefault(key, []).append(i)
    t0 = time.perf_counter()
    results: list = [None] * len(gold)
    for (skill, routed), idx in groups.items():
        for k in range(0, len(idx), CHUNK):
            part = idx[k : k + CHUNK]
            texts = [gold[i].text for i in part]
            res = nlu.parse_batch(texts, skill=skill, skills=route_among if routed else None)
            for i, r in zip(part, res, strict=True):
                results[i] = r
    seconds = time.perf_counter() - t0
    m = evaluate_skills(gold, [r.to_utterance() for r in results])
    if not args.per_slot:
        m.pop("per_slot", None)
    m = {k: (round(v, 4) if isinstance(v, float) else v) for k, v in m.items()}
    mode = "skill" if args.skill is not None else ("route" if args.route else "given")
    _emit({**m, "n": len(gold), "seconds": round(seconds, 3), "mode": mode})
    return 0


def cmd_build_skill(args: argparse.Namespace) -> int:
    from edge_nlu.definitions import read_definition

    out = Path(args.output)
    if out.is_dir():
        raise EdgeNLUError(f"-o {out}: is a folder; name the .skill file to write")
    if out.exists() and out.resolve() == Path(args.definition).resolve():
        raise EdgeNLUError(f"-o {out}: is the definition itself; write the skill somewhere else")
    definition = read_definition(args.definition, format=args.format, name=args.name)
    model = _model_dir(args)
    try:
        from export.skill_compiler import compile_skill
    except ModuleNotFoundError as e:  # torch & co. (any other ImportError is a bug and shows as one)
        raise MissingExtraError(
            f"build-skill needs the build extra: pip install 'edge-nlu[build]' (in a source checkout: "
            f"pip install '.[build]'; missing module {e.name!r})"
        ) from None
    rep = compile_skill(
        definition,
        model,
        out,
        gazetteer=args.gazetteer,
        finetune=not args.no_finetune,
        rank=args.rank,
        joint_weight=args.joint_weight,
    )
    _emit(
        {
            "path": str(out),
            "name": rep.get("name"),
            "bytes": rep.get("bytes"),
            "intents": rep.get("intents"),
            "utterances": rep.get("utterances"),
            "patch_rows": rep.get("patch_rows"),
            "encoder_bytes": rep.get("encoder_bytes"),
            "seconds": rep.get("seconds"),
        }
    )
    return 0


def cmd_skills(args: argparse.Namespace) -> int:
    from edge_nlu.runtime.artifacts import read_skill

    nlu = _load(args)
    user = set(nlu.user.names())
    if args.action == "list":
        enabled = set(nlu.enabled_skills)
        for name in nlu.skills:
            try:
                manifest, _ = read_skill(nlu._paths[name], nlu.base.manifest)
                intents = str(len(manifest.get("intents", [])))
            except EdgeNLUError:
                intents = "broken"
            source = "user" if name in user else "builtin"
            _emit("\t".join((name, source, "yes" if name in enabled else "no", intents)))
    elif args.action == "install":
        name = nlu.install_skill(args.path, name=args.name)
        _emit({"installed": name, "path": str(nlu.user.path(name))})
    elif args.action == "remove":
        nlu.remove_skill(args.name)
        _emit({"removed": args.name})
    elif args.action in ("enable", "disable"):
        nlu.set_enabled(args.name, args.action == "enable")
        _emit({"skill": args.name, "enabled": args.name in nlu.enabled_skills})
    else:  # info
        sk = nlu.skill(args.name)
        path = nlu._paths[args.name]
        keep = ("name", "invocation_name", "base_id", "vocab_hash", "dims", "built", "format", "format_version")
        info = {k: sk.manifest.get(k) for k in keep}
        info["name"] = args.name  # the installed name (skills install --name); the file's own name below
        info.update(
            built_as=sk.manifest.get("name"),
            source="user" if args.name in user else "builtin",
            enabled=args.name in nlu.enabled_skills,
            path=str(path),
            size=path.stat().st_size,
            intents=sk.intents[: sk.n_real],
            slots={s: sk.slot_types.get(s, {}) for s in sorted({t[2:] for t in sk.tags if t != "O"})},
            patch_rows=len(sk.patch),
            lexical=sk.lexical if sk.lex_w is not None else None,
            slot_encoder=sk.encoder_form,  # its own fine-tuned slot encoder: "full", "delta" or None
            intent_slots=sk.intent_slots,  # the slots each intent may carry (joint decoding)
            joint_weight=sk.joint_weight,  # the joint decoding weight parses use by default (None: off)
        )
        _emit(info)
    return 0


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    if not s:
        return 0.0
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def cmd_bench(args: argparse.Namespace) -> int:
    if args.n < 1:
        raise EdgeNLUError(f"--n must be at least 1, not {args.n}")
    t0 = time.perf_counter()
    nlu = _load(args)
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    nlu.parse(BENCH_UTTERANCES[0])  # first parse loads the skills: reported apart
    first_ms = 1000 * (time.perf_counter() - t0)
    wall, cpu = [], []
    for i in range(args.n):
        text = BENCH_UTTERANCES[i % len(BENCH_UTTERANCES)]
        w0, c0 = time.perf_counter(), time.process_time()
        nlu.parse(text)
        cpu.append(1000 * (time.process_time() - c0))
        wall.append(1000 * (time.perf_counter() - w0))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rss_mb = rss / (1 << 20) if sys.platform == "darwin" else rss / 1024  # bytes on macOS, KiB on Linux
    r = lambda x: round(x, 3)  # noqa: E731
    _emit(
        {
            "n": args.n,
            "threads": args.threads,
            "skills_routed": len(nlu.enabled_skills),
            "load_seconds": r(load_s),
            "first_parse_ms": r(first_ms),
            "p50_ms": r(_pct(wall, 0.5)),
            "p99_ms": r(_pct(wall, 0.99)),
            "mean_ms": r(sum(wall) / len(wall)),
            "cpu_p50_ms": r(_pct(cpu, 0.5)),
            "cpu_p99_ms": r(_pct(cpu, 0.99)),
            "peak_rss_mb": round(rss_mb, 1),
        }
    )
    return 0


def _warnings_to_stderr() -> list[tuple[logging.Logger, logging.Handler, bool]]:
    """``edge-nlu: warning: ...`` lines for the library's and the compiler's warnings, for one run of :func:`main`
    (not propagated meanwhile, so a host program's own root handler does not print them twice); returns what to undo.
    """
    attached = []
    for name in ("edge_nlu", "export"):
        logger = logging.getLogger(name)
        h = logging.StreamHandler(sys.stderr)
        h.setLevel(logging.WARNING)
        h.setFormatter(_LevelFormatter("edge-nlu: %(levelname)s: %(message)s"))
        attached.append((logger, h, logger.propagate))
        logger.addHandler(h)
        logger.propagate = False
    return attached


class _LevelFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        record = logging.makeLogRecord({**record.__dict__, "levelname": record.levelname.lower()})
        return super().format(record)


# -- entry point -----------------------------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 2 user mistake)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, --version, usage mistakes
        return e.code if isinstance(e.code, int) else (0 if e.code is None else EXIT_USAGE)
    if args.verbose:
        logging.basicConfig(
            level=logging.DEBUG if args.verbose > 1 else logging.INFO,
            stream=sys.stderr,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
    # warnings (a skill replacing an embedded one, an unknown built-in slot type) reach the user
    attached = [] if args.verbose else _warnings_to_stderr()
    try:
        return args.func(args)
    except (EdgeNLUError, OSError) as e:
        if isinstance(e, BrokenPipeError):
            return _broken_pipe()
        _error(_one_line(e))
        return EXIT_USAGE
    except BrokenPipeError:
        return _broken_pipe()
    except KeyboardInterrupt:
        return 130
    finally:
        for logger, handler, propagate in attached:
            logger.removeHandler(handler)
            logger.propagate = propagate


def _error(message: str) -> None:
    try:
        sys.stdout.flush()
    except OSError:
        pass
    sys.stderr.write(f"{PROG}: error: {message}\n")
    sys.stderr.flush()


def _broken_pipe() -> int:
    """The reader went away (e.g. ``| head``): stop quietly, and keep Python from complaining at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout without a file descriptor (e.g. captured in tests)
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
