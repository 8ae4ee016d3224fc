"""A fast reader for the block-style YAML that ``kubectl get -o yaml``, Helm and most tools write.

It reads the common subset of YAML 1.1 line by line: block mappings and sequences (also a
sequence at its key's indentation, as kubectl writes them), plain scalars on one line, single-
and double-quoted scalars on one line, literal block scalars (``|``, ``|-``, ``|+``), flow
collections on one line (``{}``, ``[a, "b"]``, ``{name: a}``) and comments. Plain scalars are typed
by PyYAML's own resolver and constructors (YAML 1.1 as Kubernetes reads it: ``yes`` is true,
``0755`` is octal, ``1e3`` is a string), so the values are exactly what libyaml's loader gives.

Anything else (anchors and aliases, tags, merge keys, flow collections over several lines or
with ``:`` or ``#`` in a plain scalar, folded or multi-line scalars, tabs, duplicate keys,
anything that is an error) raises ``Unsupported`` and the caller reads that document with the full
libyaml composer, which also words the errors. The result of a document is the same as the
composer's: the data, the line of every field and the last line of every mapping and list
(``yamlload`` describes the map); ``tests/engine/test_yamlfast.py`` compares the two.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

import yaml
from yaml.nodes import ScalarNode

END = "#end"
MAX_DEPTH = 100  # deeper documents go to the composer, which enforces the real limit
MAX_KEY = 1000  # libyaml refuses simple keys over 1024 characters

_RESOLVERS: dict[Any, list[tuple[str, re.Pattern[str]]]] = yaml.resolver.Resolver.yaml_implicit_resolvers
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_TAG = "tag:yaml.org,2002:"
_SCALARS: dict[str, Any] = {}  # plain scalar text -> value (only texts that some resolver looks at)
_SCALAR_CACHE_SIZE = 100_000
# Characters where a plain scalar, a key or a flow collection would need the composer.
_INDICATORS = frozenset("&*!%@`,?:-#|>[]{}'\"")
_KEY_SLOW = _INDICATORS | {"<"}  # "<<" is a merge key
_DOUBLE = re.compile(r'"((?:[^"\\]|\\.)*)"')
_SINGLE = re.compile(r"'((?:[^']|'')*)'")
_ESCAPE = re.compile(r"\\(x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)")
_ESCAPES = {
    "0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f",
    "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0",
    "L": "\u2028", "P": "\u2029",
}  # fmt: skip
_LITERAL_HEADER = re.compile(r"\|([+-]?)(?: +#.*)?$")
# A token of a one-line flow collection: an indicator, a quoted scalar or a plain one.
_FLOW_TOKEN = re.compile(
    r""" *(?:([\[\]{},:])|(?:"((?:[^"\\]|\\.)*)"|'((?:[^']|'')*)'|"""
    r"""([^ ,\[\]{}:#"'&*!|>%@`?-][^,\[\]{}:#]*?|-[^ ,\[\]{}:#][^,\[\]{}:#]*?)) *(?=[,\[\]{}:]|$))"""
)
_AFTER_QUOTE = re.compile(r"(?: +#.*)?$")


class Unsupported(Exception):
    """The document needs the full composer (an uncommon construct, or an error to word)."""


class Item(NamedTuple):
    """A mapping in a root ``items`` list, read as an object of its own (0-based lines)."""

    data: dict[str, Any]
    lines: dict[str, int]  # paths relative to the item
    first: int
    last: int
    column: int


class RootItems(NamedTuple):
    """The value of a root mapping's ``items`` key: Items when it is a list of mappings."""

    line: int  # of the key
    listed: bool  # value is a list of Item
    value: Any
    last: int


def _plain(text: str) -> Any:
    """The value of a plain scalar, as PyYAML's resolver and safe constructor give it (timestamps and
    other tags stay strings, as the engine reads them)."""
    resolvers = _RESOLVERS.get(text[0])
    if resolvers is None:
        return text
    value = _SCALARS.get(text, _SCALARS)
    if value is not _SCALARS:
        return value
    value = text
    for tag, regexp in resolvers:
        if regexp.match(text):
            node = ScalarNode(tag, text)
            if tag == _TAG + "null":
                value = None
            elif tag == _TAG + "bool":
                value = _CONSTRUCTOR.construct_yaml_bool(node)
            elif tag == _TAG + "int":
                value = _CONSTRUCTOR.construct_yaml_int(node)
            elif tag == _TAG + "float":
                value = _CONSTRUCTOR.construct_yaml_float(node)
            break
    if len(_SCALARS) < _SCALAR_CACHE_SIZE:
        _SCALARS[text] = value
    return value


def _unescape(match: re.Match[str]) -> str:
    code = match.group(1)
    if len(code) == 1:
        char = _ESCAPES.get(code)
        if char is None:
            raise Unsupported
        return char
    value = int(code[1:], 16)
    if 0xD800 <= value <= 0xDFFF or value > 0x10FFFF:
        raise Unsupported
    return chr(value)


# What a line says, worked out once per distinct line of a file (manifests repeat most lines: the
# 10,000 pods of the benchmark have 101,000 distinct lines among 820,000): (indentation, content,
# key, code, value). GENERAL: the reader works it out where it meets the line (anything but the
# usual "key: scalar" and "key:"); BLOCK: "key:" with the value below; VALUE: "key: scalar" with its
# value (immutable, so it can be shared). None: a blank or comment line.
GENERAL, BLOCK, VALUE = 0, 1, 2
LineInfo = tuple[int, str, str, int, Any]
LineCache = dict[str, "LineInfo | None"]
_UNSEEN: LineInfo = (-1, "", "", GENERAL, None)  # a line not in the cache yet


def line_info(line: str) -> LineInfo | None:
    """What ``line`` says, as the entry of a block mapping (see GENERAL, BLOCK and VALUE)."""
    if not line:
        return None
    if line[0] == " ":
        content = line.lstrip(" ")
        if not content or content[0] == "#":
            return None
        indent = len(line) - len(content)
    elif line[0] == "#":
        return None
    else:
        content, indent = line, 0
    if content[-1] == " ":
        content = content.rstrip(" ")
    return (indent, content, *_content_info(content))


def _content_info(content: str) -> tuple[str, int, Any]:
    """(key, code, value) of a line's content as a mapping entry; the reader's usual cases only."""
    if content[0] in _KEY_SLOW or "#" in content:
        return "", GENERAL, None
    sep = content.find(": ")
    if 0 < sep < MAX_KEY and content[sep - 1] != " ":
        key = content[:sep]
        rest = content[sep + 2 :].lstrip(" ")
    elif sep < 0 and content[-1] == ":":
        key = content[:-1]
        if not key or key[-1] == " " or len(key) > MAX_KEY:
            return "", GENERAL, None  # the reader refuses it where it meets it
        return key, BLOCK, None
    else:
        return "", GENERAL, None
    if key == "items" or not rest:
        return "", GENERAL, None  # a root's items, and "key: " with trailing blanks cut
    if rest[0] == '"':
        if rest[-1] == '"' and rest.count('"') == 2 and "\\" not in rest:
            return key, VALUE, rest[1:-1]  # a double-quoted string without escapes
        return "", GENERAL, None
    if rest[0] in _INDICATORS or ": " in rest or rest[-1] == ":":
        return "", GENERAL, None
    try:
        value = rest if _RESOLVERS.get(rest[0]) is None else _plain(rest)  # a plain scalar
    except Exception:  # noqa: BLE001 - the reader meets it again where the line is read
        return "", GENERAL, None
    return key, VALUE, value


class DocumentReader:
    """Reads one document: ``lines`` is the file's lines, the document is ``lines[start:stop]``."""

    def __init__(
        self, lines: list[str], start: int, stop: int, record: bool = True, cache: LineCache | None = None
    ) -> None:
        self.lines = lines
        self.stop = stop
        # Whether to record the line of every field (without, the lines map holds less: see
        # yamlload, which then reads the document again when some line is asked for).
        self.record = record
        # Each distinct line worked out once (``line_info``): pass one cache for a file's documents.
        self.cache: LineCache = {} if cache is None else cache
        # (line index, indentation, content without trailing spaces, key, code, value) of each line
        # that holds more than blanks or a comment.
        entries: list[tuple[int, int, str, str, int, Any]] = []
        append = entries.append
        known = self.cache
        for i, line in enumerate(lines[start:stop], start):
            info = known.get(line, _UNSEEN)
            if info is _UNSEEN:
                info = known[line] = line_info(line)
            if info is not None:
                append((i, *info))
        self.entries = entries
        self.k = 0  # the next entry to read
        self.depth = 0
        self.root_items: RootItems | None = None

    def read(self) -> tuple[dict[str, Any], dict[str, int], int, int, int]:
        """The root mapping: (data without its ``items`` key, its lines, first line, last line and
        column, all 0-based); ``root_items`` then holds the ``items`` key's value, if any."""
        if not self.entries:
            raise Unsupported
        first, col = self.entries[0][:2]
        lines: dict[str, int] = {}
        data, last = self._mapping(col, "", lines, root=True)
        if self.k < len(self.entries):
            raise Unsupported
        return data, lines, first, last, col

    # -- collections ------------------------------------------------------------------------------

    def _mapping(self, col: int, path: str, lines: dict[str, int], root: bool = False) -> tuple[dict[str, Any], int]:
        # The hot loop of the reader: the entry index is a local (self.k is synced around calls),
        # and the usual lines (a plain key, then a plain or quoted value or a block below) inline.
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise Unsupported
        entries = self.entries
        n = len(entries)
        out: dict[str, Any] = {}
        k = self.k
        last = entries[k][0]
        resolvers = _RESOLVERS.get
        record = self.record
        value: Any
        while k < n:
            ln, ind, content, key, code, value = entries[k]
            if ind != col:
                if ind < col:
                    break
                raise Unsupported  # a continuation line or bad indentation
            k += 1
            if code == VALUE:  # the usual "key: scalar", worked out when the line was first met
                if key in out:
                    raise Unsupported  # duplicate key: the composer words the error
                if record:
                    lines[f"{path}.{key}" if path else key] = ln + 1
                out[key] = value
                if ln > last:
                    last = ln
                continue
            if code == BLOCK:
                rest = ""  # "key:" with the value below (key worked out with the line)
            else:
                sep = content.find(": ")
                if 0 < sep < MAX_KEY and content[0] not in _KEY_SLOW and "#" not in content and content[sep - 1] != " ":
                    key = content[:sep]  # a plain key, no comment
                    rest = content[sep + 2 :].lstrip(" ")
                elif sep < 0 and content[-1] == ":" and content[0] not in _KEY_SLOW and "#" not in content:
                    key = content[:-1]
                    rest = ""
                    if not key or key[-1] == " " or len(key) > MAX_KEY:
                        raise Unsupported
                else:
                    key, rest = _split_key(content)
            if key in out:
                raise Unsupported  # duplicate key: the composer words the error
            field = (f"{path}.{key}" if path else key) if record else ""
            if root and key == "items":
                self.k = k
                self._root_items(ln, col, rest, lines)
                k = self.k
                continue  # a root's items are not part of its own last line (see yamlload)
            if record:
                lines[field] = ln + 1
            if not rest:
                # A block below the key (a list may sit at the key's own indentation), or null.
                value, value_last = None, ln
                if k < n:
                    below, first = entries[k][1:3]
                    if first[0] == "-" and (len(first) == 1 or first[1] == " "):
                        if below >= col:
                            self.k = k
                            value, value_last = self._sequence(below, field, lines)
                            k = self.k
                            if record:
                                lines[field + END] = value_last + 1
                    elif below > col:
                        self.k = k
                        value, value_last = self._mapping(below, field, lines)
                        k = self.k
                        if record:
                            lines[field + END] = value_last + 1
                if value_last > last:
                    last = value_last
            elif rest[0] == '"' and rest[-1] == '"' and rest.count('"') == 2 and "\\" not in rest:
                value = rest[1:-1]  # a double-quoted string without escapes
                if ln > last:
                    last = ln
            elif rest[0] in _INDICATORS or "#" in rest or ": " in rest or rest[-1] == ":":
                self.k = k
                value, value_last = self._scalar(rest, ln, col, field, lines)
                k = self.k
                if value_last > last:
                    last = value_last
            else:
                value = rest if resolvers(rest[0]) is None else _plain(rest)  # a plain scalar
                if ln > last:
                    last = ln
            out[key] = value
        self.k = k
        self.depth -= 1
        return out, last

    def _root_items(self, ln: int, col: int, rest: str, lines: dict[str, int]) -> None:
        if self.root_items is not None:
            raise Unsupported  # duplicate key
        if rest:
            value, last = self._scalar(rest, ln, col, "items", lines)
            self.root_items = RootItems(ln, False, value, last)
            return
        if self.k < len(self.entries):
            ind, content = self.entries[self.k][1:3]
            if ind >= col and content[0] == "-" and (len(content) == 1 or content[1] == " "):
                value, last = self._items(ind)
                self.root_items = RootItems(ln, True, value, last)
                return
        value, last = self._nested(ln, col, "items", lines)
        self.root_items = RootItems(ln, False, value, last)

    def _nested(self, ln: int, col: int, path: str, lines: dict[str, int]) -> tuple[Any, int]:
        """The value of ``key:`` with nothing after it: a block below it, or null."""
        entries = self.entries
        if self.k < len(entries):
            ind, content = entries[self.k][1:3]
            value: list[Any] | dict[str, Any]
            if content[0] == "-" and (len(content) == 1 or content[1] == " "):
                if ind >= col:
                    value, last = self._sequence(ind, path, lines)
                    lines[path + END] = last + 1
                    return value, last
            elif ind > col:
                value, last = self._mapping(ind, path, lines)
                lines[path + END] = last + 1
                return value, last
        return None, ln

    def _sequence(self, col: int, path: str, lines: dict[str, int]) -> tuple[list[Any], int]:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise Unsupported
        entries = self.entries
        n = len(entries)
        out: list[Any] = []
        last = entries[self.k][0]
        while self.k < n:
            ln, ind, content = entries[self.k][:3]
            if ind != col or content[0] != "-" or (len(content) > 1 and content[1] != " "):
                if ind > col:
                    raise Unsupported
                break
            item = f"{path}[{len(out)}]" if self.record else ""
            if self.record:
                lines[item] = ln + 1
            value, item_last = self._item(ln, col, content, item, lines)
            out.append(value)
            if item_last > last:
                last = item_last
        self.depth -= 1
        return out, last

    def _item(self, ln: int, col: int, content: str, path: str, lines: dict[str, int]) -> tuple[Any, int]:
        rest = content[1:].lstrip(" ")
        if not rest or rest[0] == "#" or (rest[0] == "-" and (len(rest) == 1 or rest[1] == " ")):
            raise Unsupported  # a null item, a block below the dash, or a nested compact list
        item_col = col + len(content) - len(rest)
        if _is_key_line(rest):
            self.entries[self.k] = (ln, item_col, rest, *self._content(rest))
            value, last = self._mapping(item_col, path, lines)
            if self.record:
                lines[path + END] = last + 1
            return value, last
        self.k += 1
        return self._scalar(rest, ln, col, path, lines)

    def _items(self, col: int) -> tuple[list[Item], int]:
        """The root's ``items`` list, each mapping item with its own lines (a List's objects)."""
        entries = self.entries
        n = len(entries)
        out: list[Item] = []
        last = entries[self.k][0]
        while self.k < n:
            ln, ind, content = entries[self.k][:3]
            if ind != col or content[0] != "-" or (len(content) > 1 and content[1] != " "):
                if ind > col:
                    raise Unsupported
                break
            rest = content[1:].lstrip(" ")
            if not rest or not _is_key_line(rest):
                raise Unsupported
            item_col = col + len(content) - len(rest)
            self.entries[self.k] = (ln, item_col, rest, *self._content(rest))
            item_lines: dict[str, int] = {}
            value, item_last = self._mapping(item_col, "", item_lines)
            out.append(Item(value, item_lines, ln, item_last, item_col))
            if item_last > last:
                last = item_last
        return out, last

    def _content(self, content: str) -> tuple[str, int, Any]:
        """``_content_info`` of a list item's mapping content (the line after its dash), cached."""
        info = self.cache.get(content)
        if info is None:  # (a content is never a blank or comment line)
            info = self.cache[content] = line_info(content)
            assert info is not None
        return info[2], info[3], info[4]

    # -- scalars ----------------------------------------------------------------------------------

    def _scalar(self, rest: str, ln: int, col: int, path: str, lines: dict[str, int]) -> tuple[Any, int]:
        """The value written after ``key:`` or ``-`` on line ``ln`` (``col``: the key's or dash's)."""
        first = rest[0]
        if first == '"':
            match = _DOUBLE.match(rest)
            if match is None or not _AFTER_QUOTE.match(rest, match.end()):
                raise Unsupported
            text = match.group(1)
            return (_ESCAPE.sub(_unescape, text) if "\\" in text else text), ln
        if first == "'":
            match = _SINGLE.match(rest)
            if match is None or not _AFTER_QUOTE.match(rest, match.end()):
                raise Unsupported
            return match.group(1).replace("''", "'"), ln
        if first == "|":
            return self._literal(rest, ln, col)
        if first == "{" or first == "[":
            value, end = _flow(rest, 0, ln, path, lines, self.depth)
            if not _AFTER_QUOTE.match(rest, end):
                raise Unsupported
            return value, ln
        if first in _INDICATORS and not (first in "-?:" and len(rest) > 1 and rest[1] != " "):
            raise Unsupported
        cut = rest.find(" #")
        if cut >= 0:
            rest = rest[:cut].rstrip(" ")
        if ": " in rest or rest[-1] == ":":
            raise Unsupported
        return _plain(rest), ln

    def _literal(self, header: str, ln: int, col: int) -> tuple[str, int]:
        """A literal block scalar; ``col`` is the column of the collection it belongs to."""
        match = _LITERAL_HEADER.match(header)
        if match is None:
            raise Unsupported
        chomp = match.group(1)
        lines = self.lines
        i = ln + 1
        # Leading empty lines, then the first line with content sets the indentation.
        while i < self.stop and not lines[i]:
            i += 1
        if i >= self.stop:
            raise Unsupported
        text = lines[i]
        indent = len(text) - len(text.lstrip(" "))
        if indent <= col or not text.strip(" "):
            raise Unsupported
        body: list[str] = [""] * (i - ln - 1)
        last = ln
        while i < self.stop:
            text = lines[i]
            if text[:indent].strip(" "):
                break  # less indented: the scalar has ended
            if text.strip(" "):
                last = i
            body.append(text[indent:])
            i += 1
        # The entries of the scalar's lines are its text: skip them.
        entries = self.entries
        while self.k < len(entries) and entries[self.k][0] < i:
            self.k += 1
        value = "\n".join(body[: last - ln])
        # Line breaks after the last line with content (the file's last line may have none).
        breaks = i - 1 - last + (i < len(lines))
        if chomp == "" and breaks:
            value += "\n"
        elif chomp == "+":
            value += "\n" * breaks
        return value, last


def _flow(text: str, pos: int, ln: int, path: str, lines: dict[str, int], depth: int) -> tuple[Any, int]:
    """A flow collection on one line starting at ``text[pos]`` (``{`` or ``[``): its value and the
    position after it. Plain scalars in it may not hold ``:`` or ``#`` (Unsupported)."""
    if depth > MAX_DEPTH:
        raise Unsupported
    opening = text[pos]
    closing = "}" if opening == "{" else "]"
    pos += 1
    out: Any = {} if opening == "{" else []
    while True:
        match = _FLOW_TOKEN.match(text, pos)
        if match is None:
            raise Unsupported
        token = match.group(1)
        if token == closing:
            break
        if opening == "[":
            item = f"{path}[{len(out)}]"
            lines[item] = ln + 1
            value, pos = _flow_node(text, pos, ln, item, lines, depth)
            out.append(value)
        else:
            key, quoted, pos = _flow_key(text, pos)
            colon = _FLOW_TOKEN.match(text, pos)
            if colon is None or colon.group(1) != ":" or (not quoted and text[colon.end() : colon.end() + 1] != " "):
                raise Unsupported
            if key in out:
                raise Unsupported
            field = f"{path}.{key}" if path else key
            lines[field] = ln + 1
            value, pos = _flow_node(text, colon.end(), ln, field, lines, depth, empty_ok=True)
            out[key] = value
        separator = _FLOW_TOKEN.match(text, pos)
        if separator is None or separator.group(1) not in (",", closing):
            raise Unsupported
        if separator.group(1) == ",":
            pos = separator.end()
    lines[path + END] = ln + 1
    return out, match.end()


def _flow_node(
    text: str, pos: int, ln: int, path: str, lines: dict[str, int], depth: int, empty_ok: bool = False
) -> tuple[Any, int]:
    match = _FLOW_TOKEN.match(text, pos)
    if match is None:
        raise Unsupported
    token = match.group(1)
    if token == "{" or token == "[":
        return _flow(text, match.start(1), ln, path, lines, depth + 1)
    if token is not None:
        if empty_ok and (token == "," or token == "}"):
            return None, pos
        raise Unsupported
    return _flow_scalar(match), match.end()


def _flow_key(text: str, pos: int) -> tuple[str, bool, int]:
    match = _FLOW_TOKEN.match(text, pos)
    if match is None or match.group(1) is not None:
        raise Unsupported
    if match.group(4) is not None:
        return match.group(4), False, match.end()
    return _flow_scalar(match), True, match.end()


def _flow_scalar(match: re.Match[str]) -> Any:
    double, single, plain = match.group(2, 3, 4)
    if double is not None:
        return _ESCAPE.sub(_unescape, double) if "\\" in double else double
    if single is not None:
        return single.replace("''", "'")
    return _plain(plain)


def _split_key(content: str) -> tuple[str, str]:
    """``key: rest`` -> (key, rest); Unsupported if the line is not a plain or quoted simple key."""
    first = content[0]
    if first == '"' or first == "'":
        match = (_DOUBLE if first == '"' else _SINGLE).match(content)
        if match is None:
            raise Unsupported
        end = match.end()
        if content[end : end + 1] != ":" or (len(content) > end + 1 and content[end + 1] != " "):
            raise Unsupported
        text = match.group(1)
        if first == "'":
            key = text.replace("''", "'")
        else:
            key = _ESCAPE.sub(_unescape, text) if "\\" in text else text
        rest = content[end + 1 :].lstrip(" ")
        return key, "" if rest[:1] == "#" else rest
    sep = content.find(": ")
    if sep < 0:
        if content[-1] != ":":
            raise Unsupported
        key, rest = content[:-1], ""
    else:
        key, rest = content[:sep], content[sep + 2 :].lstrip(" ")
    if rest[:1] == "#":
        rest = ""  # "key: # a comment": the value is below, or null
    if not key or first in _INDICATORS or key[-1] == " " or " #" in key or key == "<<" or len(key) > MAX_KEY:
        raise Unsupported
    return key, rest


def _is_key_line(content: str) -> bool:
    """Whether ``content`` (after a dash) starts a mapping rather than being a scalar."""
    first = content[0]
    if first == '"' or first == "'":
        match = (_DOUBLE if first == '"' else _SINGLE).match(content)
        if match is None:
            raise Unsupported
        end = match.end()
        return content[end : end + 1] == ":" and (len(content) == end + 1 or content[end + 1] == " ")
    if first == "{" or first == "[":
        return False
    cut = content.find(" #")
    body = content[:cut] if cut >= 0 else content
    return ": " in body or body.endswith(":")
