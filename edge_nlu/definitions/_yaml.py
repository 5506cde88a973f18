"""Source-text helpers shared by the readers (standard library only).

- :func:`read_text`: read a file as UTF-8, turning OS and decoding errors into DefinitionError (:func:`read_utf8`:
  the same without the folder check and with a BOM kept, for formats that do not allow one).
- :class:`JsonSource` / :func:`load_json`: parse JSON, report syntax errors with their line and semantic errors with
  the field path (``intents[2].samples[0]``) *and* the line of that element.
- :func:`parse_yaml`: a small, strict YAML subset (block mappings and sequences, ``|``/``>`` block scalars, plain and
  quoted scalars, comments, one ``---`` document, simple flow ``[a, b]`` / ``{a: b}``). Nodes keep their line
  numbers; anything outside the subset (anchors, aliases, tags, directives, multi-line plain scalars, nested flow
  collections) is a DefinitionError naming file and line.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from edge_nlu.errors import DefinitionError

MAX_DEPTH = 64


def read_utf8(path: str | Path) -> tuple[str, str]:
    """(file name, text) of a UTF-8 file as it is (a BOM is kept); OS errors and invalid UTF-8 are DefinitionErrors."""
    path = Path(path)
    file = str(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise DefinitionError(f"cannot read: {e.strerror or e}", file=file) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw[: e.start].count(b"\n") + 1
        raise DefinitionError("is not valid UTF-8", file=file, line=line) from None
    return file, text


def read_text(path: str | Path) -> tuple[str, str]:
    """(file name, text) of a UTF-8 file, a leading BOM dropped; a folder, a missing file or invalid UTF-8 is a
    DefinitionError."""
    if Path(path).is_dir():
        raise DefinitionError("is a folder, not a file", file=str(path))
    file, text = read_utf8(path)
    if text.startswith("\ufeff"):
        text = text[1:]
    return file, text


# --------------------------------------------------------------------------------------------------------- JSON


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict:
    out: dict = {}
    for k, v in pairs:
        if k in out:
            raise _DuplicateKey(k)
        out[k] = v
    return out


_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def _skip_ws(text: str, pos: int) -> int:
    return _WS.match(text, pos).end()


def _locate(text: str, path: tuple[str | int, ...]) -> int | None:
    """Character offset of the JSON element at ``path`` (keys and indices), None when not found."""
    pos = _skip_ws(text, 0)
    for step in path:
        if pos >= len(text):
            return None
        ch = text[pos]
        if ch == "{" and isinstance(step, str):
            pos = _skip_ws(text, pos + 1)
            found = None
            while pos < len(text) and text[pos] == '"':
                key, pos = json.decoder.scanstring(text, pos + 1)
                pos = _skip_ws(text, pos)
                if pos >= len(text) or text[pos] != ":":
                    return None
                pos = _skip_ws(text, pos + 1)
                if key == step:
                    found = pos
                _, pos = _DECODER.raw_decode(text, pos)
                pos = _skip_ws(text, pos)
                if pos < len(text) and text[pos] == ",":
                    pos = _skip_ws(text, pos + 1)
            if found is None:
                return None
            pos = found
        elif ch == "[" and isinstance(step, int):
            pos = _skip_ws(text, pos + 1)
            for _ in range(step):
                if pos >= len(text) or text[pos] == "]":
                    return None
                _, pos = _DECODER.raw_decode(text, pos)
                pos = _skip_ws(text, pos)
                if pos < len(text) and text[pos] == ",":
                    pos = _skip_ws(text, pos + 1)
            if pos >= len(text) or text[pos] == "]":
                return None
        else:
            return None
    return pos


def field_path(path: tuple[str | int, ...]) -> str:
    """``("intents", 2, "samples", 0)`` -> ``intents[2].samples[0]``."""
    out = ""
    for step in path:
        if isinstance(step, int):
            out += f"[{step}]"
        else:
            out += ("." if out else "") + step
    return out


@dataclass
class JsonSource:
    """A parsed JSON file that can say where an element is (for error messages)."""

    file: str
    text: str
    data: object

    def line_of(self, path: tuple[str | int, ...]) -> int | None:
        try:
            pos = _locate(self.text, path)
        except (ValueError, RecursionError):
            return None
        return None if pos is None else self.text.count("\n", 0, pos) + 1

    def error(self, message: str, path: tuple[str | int, ...]) -> DefinitionError:
        return DefinitionError(message, file=self.file, line=self.line_of(path), field=field_path(path) or None)


def load_json(path: str | Path) -> JsonSource:
    """Parse a JSON file; bad JSON, duplicate keys and deep nesting are DefinitionErrors with a line."""
    file, text = read_text(path)
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as e:
        raise DefinitionError(f"bad JSON: {e.msg} (column {e.colno})", file=file, line=e.lineno) from None
    except RecursionError:
        raise DefinitionError("bad JSON: nested too deeply", file=file) from None
    except _DuplicateKey as e:
        m = [x.start() for x in re.finditer(re.escape(json.dumps(e.key)) + r"\s*:", text)]
        line = text.count("\n", 0, m[1]) + 1 if len(m) > 1 else None
        raise DefinitionError(f"duplicate key {e.key!r}", file=file, line=line) from None
    except ValueError as e:  # e.g. an integer over Python's 4300-digit conversion limit
        raise DefinitionError(f"bad JSON: {_value_error(e)}", file=file) from None
    return JsonSource(file, text, data)


def _value_error(e: ValueError) -> str:
    msg = str(e)
    if "integer string conversion" in msg:
        return "a number is too long (over 4300 digits)"
    return msg.split(";")[0]


# --------------------------------------------------------------------------------------------------------- YAML


@dataclass
class Scalar:
    """A scalar; ``value`` None for null. ``style``: plain, single, double, literal or folded."""

    value: str | None
    line: int
    style: str = "plain"


@dataclass
class Seq:
    items: list = field(default_factory=list)
    line: int = 0


@dataclass
class Map:
    items: dict = field(default_factory=dict)
    line: int = 0
    key_lines: dict = field(default_factory=dict)


Node = Scalar | Seq | Map

_NULLS = {"", "~", "null", "Null", "NULL"}
_ESCAPES = {
    "0": "\0",
    "a": "\a",
    "b": "\b",
    "t": "\t",
    "\t": "\t",
    "n": "\n",
    "v": "\v",
    "f": "\f",
    "r": "\r",
    "e": "\x1b",
    " ": " ",
    '"': '"',
    "/": "/",
    "\\": "\\",
    "N": "\x85",
    "_": "\xa0",
}


def to_python(node: Node | None) -> object:
    """Plain Python objects (str/None/bool/int/float for scalars, list, dict)."""
    if node is None:
        return None
    if isinstance(node, Seq):
        return [to_python(x) for x in node.items]
    if isinstance(node, Map):
        return {k: to_python(v) for k, v in node.items.items()}
    v = node.value
    if node.style != "plain" or v is None:
        return v
    if v in ("true", "True", "TRUE"):
        return True
    if v in ("false", "False", "FALSE"):
        return False
    if re.fullmatch(r"[-+]?[0-9]+", v):
        return int(v)
    if re.fullmatch(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?", v):
        return float(v)
    return v


class _YamlParser:
    def __init__(self, text: str, file: str | None) -> None:
        self.file = file
        self.lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        self.i = 0
        self.depth = 0

    def error(self, message: str, line: int | None = None) -> DefinitionError:
        return DefinitionError(f"bad YAML: {message}", file=self.file, line=line if line else self.i + 1)

    # ---- lines
    @staticmethod
    def _blank(s: str) -> bool:
        t = s.strip()
        return not t or t.startswith("#")

    def _indent(self, s: str) -> int:
        n = len(s) - len(s.lstrip(" "))
        if n < len(s) and s[n] == "\t" and s.strip():
            raise self.error("tabs are not allowed for indentation")
        return n

    def _skip_blank(self) -> None:
        while self.i < len(self.lines) and self._blank(self.lines[self.i]):
            self.i += 1

    def _at_end(self) -> bool:
        self._skip_blank()
        if self.i >= len(self.lines):
            return True
        s = self.lines[self.i]
        return s.startswith(("---", "...")) and s[3:4] in ("", " ", "\t")

    def _line_at(self, ind: int) -> str | None:
        """The next line's content after ``ind`` columns, or None at the end of the document or of the block
        (a line indented less); a line indented more is an error."""
        if self._at_end():
            return None
        s = self.lines[self.i]
        cur = self._indent(s)
        if cur < ind:
            return None
        if cur > ind:
            raise self.error("bad indentation (a multi-line plain scalar is not supported)")
        return s[ind:]

    @staticmethod
    def _is_seq_item(content: str) -> bool:
        return content == "-" or content.startswith(("- ", "-\t"))

    # ---- documents
    def parse(self) -> Node | None:
        self._skip_blank()
        if self.i < len(self.lines) and self.lines[self.i].startswith("%"):
            raise self.error("directives are not supported")
        if self.i < len(self.lines) and self._is_marker(self.lines[self.i], "---"):
            rest = self.lines[self.i][3:].strip()
            if rest and not rest.startswith("#"):
                raise self.error("content after '---' is not supported")
            self.i += 1
        node = None
        if not self._at_end():
            node = self._block(self._indent(self.lines[self.i]), -1)
        self._skip_blank()
        if self.i < len(self.lines):
            s = self.lines[self.i]
            if self._is_marker(s, "..."):
                self.i += 1
                self._skip_blank()
                if self.i >= len(self.lines):
                    return node
            if self.i < len(self.lines) and self._is_marker(self.lines[self.i], "---"):
                raise self.error("several documents in one file are not supported")
            raise self.error("unexpected content (check the indentation)")
        return node

    @staticmethod
    def _is_marker(s: str, marker: str) -> bool:
        return s.startswith(marker) and s[3:4] in ("", " ", "\t")

    # ---- block nodes
    def _block(self, ind: int, parent: int) -> Node | None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error("nested too deeply")
        try:
            s = self.lines[self.i]
            content = s[ind:]
            if self._is_seq_item(content):
                return self._seq(ind)
            if self._split_key(content) is not None:
                return self._map(ind)
            line = self.i + 1
            value = content.rstrip()
            node = self._value(value, line, ind, parent)
            if isinstance(node, Scalar) and node.style not in ("literal", "folded"):
                self.i += 1
            return node
        finally:
            self.depth -= 1

    def _seq(self, ind: int) -> Seq:
        seq = Seq(line=self.i + 1)
        while (content := self._line_at(ind)) is not None:
            if not self._is_seq_item(content):
                break
            rest = content[1:]
            if self._blank(rest):
                line = self.i + 1
                self.i += 1
                seq.items.append(self._nested(ind, line, allow_same_indent_seq=False))
            else:
                col = ind + 1 + (len(rest) - len(rest.lstrip(" \t")))
                self.lines[self.i] = " " * col + rest.lstrip(" \t")
                seq.items.append(self._block(col, ind))
        return seq

    def _nested(self, ind: int, line: int, allow_same_indent_seq: bool) -> Node | None:
        """The value on the lines after a ``key:`` or ``-`` with nothing after it (null when none)."""
        if self._at_end():
            return Scalar(None, line)
        s = self.lines[self.i]
        cur = self._indent(s)
        if cur > ind:
            return self._block(cur, ind)
        if cur == ind and allow_same_indent_seq:
            content = s[ind:]
            if self._is_seq_item(content):
                return self._block(cur, ind)
        return Scalar(None, line)

    def _split_key(self, content: str) -> tuple[str, str, str] | None:
        """(key, style, rest after the colon) when ``content`` is a ``key: value`` line, else None."""
        if content.startswith(('"', "'")):
            q = content[0]
            try:
                key, end = self._quoted(content, 0, self.i + 1)
            except DefinitionError:
                return None
            rest = content[end:].lstrip(" ")
            if rest.startswith(":") and (len(rest) == 1 or rest[1] in " \t"):
                return key, "double" if q == '"' else "single", rest[1:]
            return None
        if content.startswith(("[", "{", "#")):
            return None
        m = re.search(r":(\s|$)", content)
        if m is None:
            return None
        key = content[: m.start()]
        if " #" in key:
            return None
        return key.rstrip(), "plain", content[m.start() + 1 :]

    def _map(self, ind: int) -> Map:
        mp = Map(line=self.i + 1)
        while (content := self._line_at(ind)) is not None:
            line = self.i + 1
            if content.startswith("? "):
                raise self.error("complex mapping keys are not supported")
            if self._is_seq_item(content):
                raise self.error("a sequence item where a mapping key was expected")
            kv = self._split_key(content)
            if kv is None:
                raise self.error("expected 'key: value'")
            key, style, rest = kv
            if style == "plain":
                self._check_plain(key, line)
            if key in mp.items:
                raise self.error(f"duplicate key {key!r}")
            rest = rest.strip(" \t")
            if self._blank(rest):
                self.i += 1
                value = self._nested(ind, line, allow_same_indent_seq=True)
            else:
                value = self._value(rest, line, ind, ind)
                if isinstance(value, Scalar) and value.style in ("literal", "folded"):
                    pass  # the block scalar moved self.i already
                else:
                    self.i += 1
            mp.items[key] = value
            mp.key_lines[key] = line
        return mp

    # ---- scalars and flow collections
    def _check_plain(self, v: str, line: int) -> None:
        if not v:
            return
        if v[0] in "&*!":
            raise self.error("anchors, aliases and tags are not supported", line)
        if v[0] in "@`%|>":
            raise self.error(f"a plain scalar cannot start with {v[0]!r}", line)
        if v[0] in "]}" or (v[0] in "?:-" and (len(v) == 1 or v[1] in " \t")):
            raise self.error(f"unexpected {v[0]!r}", line)

    def _plain(self, text: str, line: int) -> str:
        m = re.search(r"\s#", text)
        if m:
            text = text[: m.start()]
        text = text.strip()
        self._check_plain(text, line)
        if re.search(r":(\s|$)", text):
            raise self.error("mapping values are not allowed here (quote the value)", line)
        return text

    def _quoted(self, text: str, pos: int, line: int) -> tuple[str, int]:
        q = text[pos]
        out = []
        i = pos + 1
        while i < len(text):
            c = text[i]
            if q == "'":
                if c == "'":
                    if text[i + 1 : i + 2] == "'":
                        out.append("'")
                        i += 2
                        continue
                    return "".join(out), i + 1
                out.append(c)
                i += 1
                continue
            if c == '"':
                return "".join(out), i + 1
            if c == "\\":
                e = text[i + 1 : i + 2]
                if e in _ESCAPES:
                    out.append(_ESCAPES[e])
                    i += 2
                    continue
                n = {"x": 2, "u": 4, "U": 8}.get(e)
                h = text[i + 2 : i + 2 + n] if n else ""
                if not n or len(h) != n or not re.fullmatch(r"[0-9a-fA-F]+", h):
                    raise self.error(f"bad escape sequence '\\{e}'", line)
                try:
                    out.append(chr(int(h, 16)))
                except (ValueError, OverflowError):
                    raise self.error(f"bad escape sequence '\\{e}{h}'", line) from None
                i += 2 + n
                continue
            out.append(c)
            i += 1
        raise self.error("unterminated quoted scalar (quoted scalars must end on the same line)", line)

    def _after(self, text: str, end: int, line: int) -> None:
        rest = text[end:].strip()
        if rest and not rest.startswith("#"):
            raise self.error(f"unexpected text after the value: {rest[:20]!r}", line)

    def _value(self, text: str, line: int, ind: int, parent: int) -> Node:
        """An inline value that starts on the current line (``text``); block scalars consume their lines."""
        c = text[0]
        if c in "|>":
            return self._block_scalar(text, line, parent)
        if c in "\"'":
            v, end = self._quoted(text, 0, line)
            self._after(text, end, line)
            return Scalar(v, line, "double" if c == '"' else "single")
        if c == "[":
            return self._flow_seq(text, line)
        if c == "{":
            return self._flow_map(text, line)
        v = self._plain(text, line)
        return Scalar(None if v in _NULLS else v, line)

    def _flow_items(self, text: str, line: int, close: str) -> tuple[list[tuple[str, str, int]], int]:
        """Raw items of a one-line flow collection: (text, style, column); nested collections are errors."""
        items: list[tuple[str, str, int]] = []
        i = 1
        buf_start = None
        while True:
            while i < len(text) and text[i] in " \t":
                i += 1
            if i >= len(text):
                raise self.error(f"unclosed flow collection (expected {close!r} on the same line)", line)
            c = text[i]
            if c == close and not items and buf_start is None:
                return items, i + 1
            if c in "[{":
                raise self.error("nested flow collections are not supported", line)
            if c in "\"'":
                v, i = self._quoted(text, i, line)
                items.append((v, "quoted", i))
            else:
                buf_start = i
                while i < len(text) and text[i] not in ",]}":
                    if text[i] in "[{":
                        raise self.error("nested flow collections are not supported", line)
                    i += 1
                items.append((text[buf_start:i].strip(), "plain", buf_start))
            while i < len(text) and text[i] in " \t":
                i += 1
            if i >= len(text):
                raise self.error(f"unclosed flow collection (expected {close!r} on the same line)", line)
            if text[i] == close:
                return items, i + 1
            if text[i] != ",":
                raise self.error(f"expected ',' or {close!r} in a flow collection", line)
            i += 1
            buf_start = None

    def _flow_seq(self, text: str, line: int) -> Seq:
        items, end = self._flow_items(text, line, "]")
        self._after(text, end, line)
        seq = Seq(line=line)
        for v, style, _ in items:
            if style == "plain":
                self._check_plain(v, line)
                if re.search(r":(\s|$)", v):
                    raise self.error("mappings inside flow sequences are not supported", line)
                seq.items.append(Scalar(None if v in _NULLS else v, line))
            else:
                seq.items.append(Scalar(v, line, "double"))
        return seq

    def _flow_map(self, text: str, line: int) -> Map:
        if re.search(r"['\"]", text):
            raise self.error("quoted keys or values in flow mappings are not supported", line)
        items, end = self._flow_items(text, line, "}")
        self._after(text, end, line)
        mp = Map(line=line)
        for v, _, _ in items:
            k, sep, val = v.partition(":")
            k, val = k.strip(), val.strip()
            if not sep or not k:
                raise self.error("flow mapping entries must be 'key: value'", line)
            self._check_plain(k, line)
            self._check_plain(val, line)
            if k in mp.items:
                raise self.error(f"duplicate key {k!r}", line)
            mp.items[k] = Scalar(None if val in _NULLS else val, line)
            mp.key_lines[k] = line
        return mp

    def _block_scalar(self, header: str, line: int, parent: int) -> Scalar:
        m = re.fullmatch(r"([|>])([-+]?)([1-9]?)([-+]?)\s*(#.*)?", header)
        if m is None or (m.group(2) and m.group(4)):
            raise self.error(f"bad block scalar header {header!r}", line)
        style = "literal" if m.group(1) == "|" else "folded"
        chomp = m.group(2) or m.group(4)
        explicit = int(m.group(3)) if m.group(3) else None
        self.i += 1
        start = self.i
        raw: list[str] = []
        content_ind = parent + explicit if explicit else None
        while self.i < len(self.lines):
            s = self.lines[self.i]
            if not s.strip():
                raw.append("")
                self.i += 1
                continue
            cur = len(s) - len(s.lstrip(" "))
            if content_ind is None:
                if cur <= parent:
                    break
                if s[cur] == "\t":
                    raise self.error("tabs are not allowed for indentation")
                content_ind = cur
            if cur < content_ind:
                if cur > parent:
                    raise self.error("bad indentation inside a block scalar")
                break
            raw.append(s[content_ind:])
            self.i += 1
        # trailing blank lines belong to chomping, give back lines that are past the content
        n_content = len(raw)
        while n_content and raw[n_content - 1] == "":
            n_content -= 1
        body_lines = raw[:n_content]
        trailing = len(raw) - n_content
        if style == "literal":
            body = "\n".join(body_lines)
        else:
            body = ""
            prev_more = True
            for j, ln in enumerate(body_lines):
                more = ln.startswith((" ", "\t")) or ln == ""
                if j == 0:
                    body = ln
                elif ln == "":
                    body += "\n"
                elif more or prev_more or body.endswith("\n"):
                    body += ("" if body.endswith("\n") else "\n") + ln
                else:
                    body += " " + ln
                prev_more = ln.startswith((" ", "\t"))
        if not body_lines:
            value = ""
        elif chomp == "-":
            value = body
        elif chomp == "+":
            value = body + "\n" * (1 + trailing)
        else:
            value = body + "\n"
        return Scalar(value, start + 1, style)


def parse_yaml(text: str, file: str | None = None) -> Node | None:
    """Parse ``text`` (the subset described in the module docstring) into line-numbered nodes; None when empty.

    A block scalar's ``line`` is the line of its first content line, so line ``k`` of its value is ``line + k``.
    """
    try:
        return _YamlParser(text, file).parse()
    except RecursionError:
        raise DefinitionError("bad YAML: nested too deeply", file=file) from None


def load_yaml(path: str | Path) -> tuple[str, Node | None]:
    """(file name, root node) of a YAML file."""
    file, text = read_text(path)
    return file, parse_yaml(text, file)
