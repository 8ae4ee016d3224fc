"""Load YAML and JSON manifests into RawObjects that remember the line of every field.

Kubernetes reads manifests as YAML 1.1 streams of documents; JSON is YAML, so both go through
the same loader. ``kind: List`` and typed lists (``PodList``, ``NetworkPolicyList``, ...) are
flattened into their items; an item without ``kind`` / ``apiVersion`` takes them from the list,
as the API server's list types imply (``PodList.items`` holds Pods).
https://kubernetes.io/docs/reference/using-api/api-concepts/#collections

Block-style files (what kubectl and most tools write) are read by ``yamlfast``; any document it
does not read, and any file with an error, by libyaml's composer with marks. Both give the same
objects.

Every object comes with a map from field path (``spec.ingress[0].from[1]``) to its 1-based line,
and, for mappings and lists, ``<path>#end`` to the line where that value ends (see
``end_line_of``), so that kind parsers can point at the exact spot of an error.
Defences against hostile input: a limit on nesting depth, a budget for the nodes that aliases
expand to ("billion laughs") and, when the caller gives one (the web upload does, from its
settings; the command line reads files of any size), a size limit per file.
"""

from __future__ import annotations

import os
import re
import sys
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TextIO

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from policies.engine.cluster import Source
from policies.engine.collector import collector_paused
from policies.engine.documents import RawObject
from policies.engine.errors import PolicyError
from policies.engine.kinds import POLICY_KINDS
from policies.engine.yamlfast import VALUE, DocumentReader, LineCache, Unsupported

# Nodes that aliases may add on top of what the file spells out, per file.
ALIAS_NODE_BUDGET = 1_000_000
# Deeper than any real manifest; keeps the recursive builder well inside Python's stack limit.
MAX_DEPTH = 200
# libyaml's composer recurses in C and overflows the stack near 100,000 levels (10,000 are fine):
# scan events first whenever the text could nest deeper than SCAN_DEPTH.
SCAN_DEPTH = 5000
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")
END = "#end"  # suffix of the key that holds the last line of a mapping or list

_BaseLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_BaseLoader):  # type: ignore[misc]
    """The safe loader (libyaml's when there), with its tag resolution memoised: the composer asks
    the resolver for the tag of every node, and manifests repeat the same keys and values."""

    _scalar_tags: dict[tuple[str, bool, bool], str] = {}

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is ScalarNode:
            key = (value, implicit[0], implicit[1])
            tag = self._scalar_tags.get(key)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                if len(self._scalar_tags) < _TAG_CACHE_SIZE:
                    self._scalar_tags[key] = tag
            return tag
        return super().resolve(kind, value, implicit)

    # No path resolvers are registered: nothing to track per level.
    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        return None

    def ascend_resolver(self) -> None:
        return None


_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_TAG = "tag:yaml.org,2002:"
_STR = _TAG + "str"
_LONG_BLOCK_PREFIX = 1000
_TAG_CACHE_SIZE = 200_000
# A line that starts with that many indentation or block indicator characters (a newline first: a
# literal prefix is searched fast, where a line-start anchor would try every position).
_LONG_BLOCK_PREFIX_RE = re.compile(rf"\n[ \t?:-]{{{_LONG_BLOCK_PREFIX},}}")


def end_line_of(obj: RawObject, path: str) -> int:
    """The last line of the mapping or list at ``path`` (its start line when unknown)."""
    return obj.lines.get(path + END) or obj.line_of(path)


def load_text(
    name: str, text: str, *, max_bytes: int | None = None, line_cache: LineCache | None = None
) -> list[RawObject]:
    """Parse one file's text into RawObjects, in file order; empty documents are skipped.
    ``max_bytes``: refuse a larger file (None: no limit). ``line_cache``: what the reader worked out
    of each distinct line, to share among the files of one input (they repeat each other's lines)."""
    check_size(name, text, max_bytes)
    _check_depth(name, text)
    with collector_paused():
        objects = _fast_load(name, text, {} if line_cache is None else line_cache)
        return objects if objects is not None else _FileLoader(name, text).load()


def check_size(name: str, text: str, max_bytes: int | None) -> None:
    """Refuse text over ``max_bytes`` (as UTF-8; None: no limit) and text that UTF-8 cannot encode
    (lone surrogates)."""
    too_big = PolicyError(f"the file is larger than the limit of {max_bytes} bytes", file=name)
    if max_bytes is not None and len(text) > max_bytes:
        raise too_big
    try:
        size = len(text.encode("utf-8"))
    except UnicodeEncodeError as exc:
        line = text.count("\n", 0, exc.start) + 1
        raise PolicyError("the text is not valid Unicode", file=name, line=line) from exc
    if max_bytes is not None and size > max_bytes:
        raise too_big


def read_sources(
    paths: Sequence[str], *, stdin: TextIO | None = None, max_bytes: int | None = None
) -> list[tuple[str, str]]:
    """(file name, text) for each path: a file, a directory (recursive, sorted) or ``-`` for stdin;
    ``max_bytes`` limits each file (None: any size)."""
    out: list[tuple[str, str]] = []
    for path in paths:
        if path == "-":
            stream = stdin if stdin is not None else sys.stdin
            text = stream.read() if max_bytes is None else stream.read(max_bytes + 1)
            check_size("<stdin>", text, max_bytes)
            out.append(("<stdin>", text))
        elif os.path.isdir(path):
            out.extend((f, _read_file(f, max_bytes)) for f in _manifest_files(path))
        elif os.path.exists(path):
            out.append((path, _read_file(path, max_bytes)))
        else:
            raise PolicyError("no such file or directory", file=path)
    return out


def _manifest_files(directory: str) -> list[str]:
    found: list[str] = []
    for root, dirs, files in os.walk(directory):
        dirs.sort()
        found.extend(os.path.join(root, f) for f in files if f.lower().endswith(MANIFEST_SUFFIXES))
    return sorted(found)


def _read_file(path: str, max_bytes: int | None) -> str:
    try:
        if max_bytes is not None and os.path.getsize(path) > max_bytes:
            raise PolicyError(f"the file is larger than the limit of {max_bytes} bytes", file=path)
        with open(path, "rb") as fh:
            data = fh.read() if max_bytes is None else fh.read(max_bytes + 1)
    except OSError as exc:
        raise PolicyError(f"cannot read the file: {exc.strerror or exc}", file=path) from exc
    if max_bytes is not None and len(data) > max_bytes:
        raise PolicyError(f"the file is larger than the limit of {max_bytes} bytes", file=path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise PolicyError("the file is not valid UTF-8", file=path, line=line) from exc


def _check_depth(name: str, text: str) -> None:
    """Refuse absurd nesting before the (recursive, C) composer sees it: it would overflow the stack."""
    # Each level needs an opening bracket or one more column of block indentation, so this bounds it.
    brackets = text.count("[") + text.count("{")
    long_prefix = _LONG_BLOCK_PREFIX_RE.match("\n" + text[:_LONG_BLOCK_PREFIX]) or _LONG_BLOCK_PREFIX_RE.search(text)
    if brackets + _LONG_BLOCK_PREFIX < SCAN_DEPTH and not long_prefix:
        return
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    mark = event.start_mark
                    line = int(mark.line) + 1 if mark is not None else None
                    raise PolicyError(f"the YAML nests deeper than {MAX_DEPTH} levels", file=name, line=line)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.MarkedYAMLError as exc:
        # Newer libyaml versions refuse deep nesting themselves; say it the same way.
        if "nesting depth" in str(exc.problem or ""):
            mark = exc.problem_mark or exc.context_mark
            line = int(mark.line) + 1 if mark is not None else None
            raise PolicyError(f"the YAML nests deeper than {MAX_DEPTH} levels", file=name, line=line) from None
        return  # the composer reports syntax errors with their document index
    except yaml.YAMLError:
        return


class _AliasBomb(Exception):
    pass


# Kinds whose parsers keep the lines of their fields (rules, ports and peers that explanations
# point at): their documents are read with every line at once. Other objects (pods, workloads,
# namespaces and every kind the engine skips) use lines only to word an error or a warning, and get
# them when one asks.
EAGER_LINE_KINDS = POLICY_KINDS

# -- the fast reader's documents --------------------------------------------------------------------
# Text the fast reader takes: no tab, no carriage return, no other line break than "\n", nothing
# that libyaml's reader refuses (it then words the error) and no byte order mark.
_ASCII_SAFE = bytes([10, *range(0x20, 0x7F)])
# Compiled when first needed: a class over most of Unicode takes 20 ms to compile.
_UNSAFE_PATTERN = "[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
_CONTENT_LINE = re.compile(r"^ *[^ #\n]", re.MULTILINE)


def _fast_load(name: str, text: str, cache: LineCache) -> list[RawObject] | None:
    """The file's objects read by the fast reader, each document it cannot read by the composer;
    None when the whole file is for the composer (unusual text, or an error to report)."""
    if text.isascii():
        if text.encode("ascii").translate(None, _ASCII_SAFE):
            return None
    elif re.search(_UNSAFE_PATTERN, text):
        return None
    documents = _split_documents(text)
    if documents is None:
        return None
    lines = text.split("\n")
    out: list[RawObject] = []
    for index, marker, start, stop in documents:
        reader = DocumentReader(lines, start, stop, record=False, cache=cache)
        if not reader.entries:
            continue  # an empty document
        try:
            if _root_kind(reader) in EAGER_LINE_KINDS:
                reader.record = True  # a policy: every line at once, in one reading
                out.extend(_fast_objects(name, index, reader, lines))
                continue
            objects = _fast_objects(name, index, reader, lines)
            if any(o.kind in EAGER_LINE_KINDS for o in objects):
                out.extend(_fast_objects(name, index, DocumentReader(lines, start, stop, cache=cache), lines))
            else:
                later = _DocumentLines(name, index, lines, start, stop)
                out.extend(
                    RawObject(o.kind, o.api_version, o.data, o.source, _LazyLines(later, i), o.text)
                    for i, o in enumerate(objects)
                )
        except Unsupported:
            first = marker if marker is not None else 0
            chunk = "\n" * first + "\n".join(lines[first:stop]) + ("\n" if stop < len(lines) else "")
            try:
                out.extend(_FileLoader(name, chunk, first_document=index).load())
            except PolicyError:
                return None  # read the whole file again so that the error is worded as always
    return out


def _root_kind(reader: DocumentReader) -> Any:
    """The value of the document's root ``kind: X`` line as the reader worked it out ("" when the
    line is not a plain one or there is none)."""
    entries = reader.entries
    col = entries[0][1]
    for entry in entries:
        if entry[1] == col and entry[3] == "kind":
            return entry[5] if entry[4] == VALUE else ""
    return ""


class _DocumentLines:
    """The line maps of one document's objects, read again when first asked for."""

    def __init__(self, name: str, index: int, lines: list[str], start: int, stop: int) -> None:
        self.args = (name, index, lines, start, stop)
        self.maps: list[Mapping[str, int]] | None = None

    def get(self, item: int) -> Mapping[str, int]:
        if self.maps is None:
            name, index, lines, start, stop = self.args
            self.maps = [o.lines for o in _fast_objects(name, index, DocumentReader(lines, start, stop), lines)]
        return self.maps[item]


class _LazyLines(Mapping[str, int]):
    """An object's field -> line map, made when first read (an error or a warning names a field)."""

    __slots__ = ("document", "item")

    def __init__(self, document: _DocumentLines, item: int) -> None:
        self.document = document
        self.item = item

    def __getitem__(self, key: str) -> int:
        return self.document.get(self.item)[key]

    def __contains__(self, key: object) -> bool:
        return key in self.document.get(self.item)

    def __iter__(self) -> Iterator[str]:
        return iter(self.document.get(self.item))

    def __len__(self) -> int:
        return len(self.document.get(self.item))


def _split_documents(text: str) -> list[tuple[int, int | None, int, int]] | None:
    """(document index, line of its ``---`` or None, first line, end line) of each document, 0-based;
    None when the file has markup the fast path leaves to the composer (``...``, directives,
    content on a ``---`` line)."""
    for prefix in ("...", "%"):
        for start in _line_starts(text, prefix):
            if prefix == "%" or text[start + 3 : start + 4] in ("", " ", "\n"):
                return None
    markers: list[int] = []
    line, pos = 0, 0
    for start in _line_starts(text, "---"):
        end = text.find("\n", start)
        tail = text[start + 3 : end if end >= 0 else len(text)]
        if tail and tail[0] != " ":
            continue  # "---foo" is text, not a marker
        if tail.strip(" ")[:1] not in ("", "#"):
            return None  # content after the marker
        line += text.count("\n", pos, start)
        pos = start
        markers.append(line)
    n_lines = line + text.count("\n", pos) + (not text.endswith("\n"))  # a final newline ends a line
    documents: list[tuple[int, int | None, int, int]] = []
    bounds = markers + [n_lines]
    head = text[: _first_line_start(text, "---")] if markers else text
    if _CONTENT_LINE.search(head):
        documents.append((0, None, 0, bounds[0]))  # content before any "---": an implicit document
    for i, marker in enumerate(markers):
        documents.append((len(documents), marker, marker + 1, bounds[i + 1]))
    return documents


def _line_starts(text: str, prefix: str) -> Iterator[int]:
    """Offsets of the lines that start with ``prefix`` (substring search: a regex anchored at line
    starts would try every position of a large file)."""
    if text.startswith(prefix):
        yield 0
    needle = "\n" + prefix
    pos = text.find(needle)
    while pos >= 0:
        yield pos + 1
        pos = text.find(needle, pos + 1)


def _first_line_start(text: str, prefix: str) -> int:
    for start in _line_starts(text, prefix):
        end = text.find("\n", start)
        tail = text[start + 3 : end if end >= 0 else len(text)]
        if not tail or tail[0] == " ":
            return start
    return len(text)


def _fast_objects(name: str, index: int, reader: DocumentReader, lines: list[str]) -> list[RawObject]:
    """The objects of one document that the fast reader has read (the composer's rules for kind,
    apiVersion and Lists, see _FileLoader._objects); Unsupported for anything the composer's
    loader would refuse."""
    data, field_lines, first, last, col = reader.read()
    items = reader.root_items
    data, kind, api_version = _fast_identity(data, "", "")
    if items is not None and kind.endswith("List"):
        if not items.listed:
            if items.value is None or items.value == []:
                return []
            raise Unsupported  # not a list: an error
        item_kind = kind[: -len("List")]
        if not item_kind:
            api_version = ""
        out = []
        for i, item in enumerate(items.value):
            item_data, item_kind_, item_api = _fast_identity(item.data, item_kind, api_version)
            if item_kind_.endswith("List") and "items" in item_data:
                raise Unsupported  # a List in a List
            item_lines = item.lines
            item_lines[END] = item.last + 1
            source = Source(name, index, item.first + 1, item.last + 1, f"items[{i}]")
            text = _object_text(lines, item.first, item.last, item.column)
            out.append(RawObject(item_kind_, item_api, item_data, source, item_lines, text))
        return out
    if items is not None:
        field_lines["items"] = items.line + 1
        if items.listed:
            value = []
            for i, item in enumerate(items.value):
                path = f"items[{i}]"
                field_lines[path] = item.first + 1
                for key, number in item.lines.items():
                    field_lines[f"{path}.{key}" if key[0] != "[" else path + key] = number
                field_lines[path + END] = item.last + 1
                value.append(item.data)
            field_lines["items" + END] = items.last + 1
        else:
            value = items.value
        data["items"] = value
        last = max(last, items.last)
    field_lines[END] = last + 1
    source = Source(name, index, first + 1, last + 1, "")
    return [RawObject(kind, api_version, data, source, field_lines, _object_text(lines, first, last, col))]


def _fast_identity(data: dict[str, Any], kind: str, api_version: str) -> tuple[dict[str, Any], str, str]:
    """Kind and apiVersion as _FileLoader._objects settles them; Unsupported where it fails."""
    own_kind = data.get("kind")
    if own_kind is None:
        if not kind:
            raise Unsupported
        data = {"kind": kind, **{k: v for k, v in data.items() if k != "kind"}}
    elif not isinstance(own_kind, str) or not own_kind:
        raise Unsupported
    api = data.get("apiVersion")
    if api is None and api_version:
        data = {"apiVersion": api_version, **{k: v for k, v in data.items() if k != "apiVersion"}}
    elif api is not None and not isinstance(api, str):
        raise Unsupported
    return data, data["kind"], data.get("apiVersion") or ""


def _object_text(src_lines: list[str], first: int, last: int, col: int) -> str:
    """An object's own lines, without what precedes it on its first line (a list item's dash); a
    block mapping's lines are all indented at least to its first key, except comments."""
    chunk = src_lines[first : last + 1]
    if not chunk:
        return ""
    if col == 0:
        return "\n".join(chunk) + "\n"
    chunk[0] = " " * col + chunk[0][col:]
    chunk = [ln[col:] if not ln[:col].strip() else ln.lstrip() for ln in chunk]
    return "\n".join(chunk) + "\n"


class _FileLoader:
    """Compose a file's documents and turn them into RawObjects."""

    def __init__(self, name: str, text: str, first_document: int = 0) -> None:
        self.name = name
        self.text = text
        self.src_lines = text.splitlines()
        self.n_lines = len(self.src_lines)
        self.document = first_document
        self.expanded = 0  # nodes visited again through an alias
        self.alias_depth = 0
        self.depth = 0
        self.built: set[int] = set()  # ids of collection nodes already built once
        self.active: set[int] = set()  # ids of collection nodes being built (cycle check)

    def load(self) -> list[RawObject]:
        out: list[RawObject] = []
        docs = yaml.compose_all(self.text, Loader=_Loader)
        while True:
            try:
                node = next(docs, None)
            except yaml.MarkedYAMLError as exc:
                raise self._syntax_error(exc) from exc
            except yaml.reader.ReaderError as exc:
                line = self.text.count("\n", 0, max(exc.position, 0)) + 1
                message = f"unacceptable character #x{exc.character:04x}: {exc.reason}"
                # The reader checks text ahead of the parser, so the document index would be a guess.
                raise PolicyError(message, file=self.name, line=line) from exc
            except yaml.YAMLError as exc:
                raise PolicyError(f"cannot read YAML: {exc}", file=self.name, document=self.document) from exc
            except RecursionError as exc:
                raise self._fail("the YAML nests too deeply", None) from exc
            if node is None:
                return out
            if not _is_null(node):
                try:
                    out.extend(self._document(node))
                except RecursionError as exc:
                    raise self._fail("the YAML nests too deeply", node) from exc
                except _AliasBomb as exc:
                    raise self._fail(
                        f"aliases expand to more than {ALIAS_NODE_BUDGET} nodes; refusing the file", node
                    ) from exc
            self.document += 1

    # -- errors -----------------------------------------------------------------------------

    def _fail(self, message: str, node: Node | None, path: str = "") -> PolicyError:
        line = node.start_mark.line + 1 if node is not None else None
        return PolicyError(message, file=self.name, document=self.document, line=line, path=path)

    def _syntax_error(self, exc: yaml.MarkedYAMLError) -> PolicyError:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "invalid YAML"
        if exc.context:
            problem = f"{problem} ({exc.context})"
        line = int(mark.line) + 1 if mark is not None else None
        return PolicyError(f"YAML syntax error: {problem}", file=self.name, document=self.document, line=line)

    # -- documents and lists ------------------------------------------------------------------

    def _document(self, node: Node) -> Iterator[RawObject]:
        if not isinstance(node, MappingNode):
            what = "a list" if isinstance(node, SequenceNode) else "a single value"
            raise self._fail(f"a document must be a Kubernetes object (a mapping), not {what}", node)
        return self._objects(node, "", "", "")

    def _objects(self, node: MappingNode, item_path: str, kind: str, api_version: str) -> Iterator[RawObject]:
        """The object at ``node``, or the items of a List (recursively); kind/apiVersion inherited."""
        lines: dict[str, int] = {}
        data, last = self._mapping(node, "", lines, skip="items")
        if node.flow_style:
            last = max(last, _mark_last(node))
        items_key, items_node = _find_key(node, "items")
        own_kind = data.get("kind")
        where = f" in {item_path}" if item_path else ""
        if own_kind is None:
            if not kind:
                raise self._fail(f"the object{where} has no kind", node)
            data = {"kind": kind, **{k: v for k, v in data.items() if k != "kind"}}
        elif not isinstance(own_kind, str) or not own_kind:
            raise self._fail(f"kind{where} must be a non-empty string", _find_key(node, "kind")[1])
        kind = data["kind"]
        api = data.get("apiVersion")
        if api is None and api_version:
            data = {"apiVersion": api_version, **{k: v for k, v in data.items() if k != "apiVersion"}}
        elif api is not None and not isinstance(api, str):
            raise self._fail(f"apiVersion{where} must be a string", _find_key(node, "apiVersion")[1])
        api_version = data.get("apiVersion") or ""
        if kind.endswith("List") and items_key is not None:
            yield from self._list_items(items_node, item_path, kind, api_version)
            return
        if items_key is not None and items_node is not None:
            lines["items"] = items_key.start_mark.line + 1
            data["items"], item_last = self._value(items_node, "items", lines)
            last = max(last, item_last)
        yield self._raw(node, data, lines, last, item_path, kind, api_version)

    def _list_items(self, seq: Node | None, item_path: str, kind: str, api_version: str) -> Iterator[RawObject]:
        if seq is None or _is_null(seq):
            return
        if not isinstance(seq, SequenceNode):
            raise self._fail(f"{_join(item_path, 'items')} of a {kind} must be a list", seq)
        item_kind = kind[: -len("List")]
        if not item_kind:
            api_version = ""  # a plain List holds objects of any kind and group
        for i, item in enumerate(seq.value):
            path = f"{_join(item_path, 'items')}[{i}]"
            if not isinstance(item, MappingNode):
                raise self._fail(f"{path} must be a Kubernetes object (a mapping)", item)
            yield from self._objects(item, path, item_kind, api_version)

    def _raw(
        self,
        node: MappingNode,
        data: dict[str, Any],
        lines: dict[str, int],
        last: int,
        item_path: str,
        kind: str,
        api_version: str,
    ) -> RawObject:
        first = node.start_mark.line
        lines[END] = last + 1
        source = Source(self.name, self.document, first + 1, last + 1, item_path)
        return RawObject(kind, api_version, data, source, lines, self._text(node, first, last))

    def _text(self, node: MappingNode, first: int, last: int) -> str:
        chunk = self.src_lines[first : last + 1]
        if not chunk:
            return ""
        col = node.start_mark.column
        if not node.flow_style:
            return _object_text(self.src_lines, first, last, col)
        # Blank out what precedes the object on its first line ("[" of JSON).
        chunk[0] = " " * col + chunk[0][col:]
        end = node.end_mark
        if end.line == last:
            chunk[-1] = chunk[-1][: end.column]
        return textwrap.dedent("\n".join(chunk)) + "\n"

    # -- nodes to plain data --------------------------------------------------------------------

    def _value(self, node: Node, path: str, lines: dict[str, int]) -> tuple[Any, int]:
        """Plain data for ``node`` and its last line (0-based); records the lines of its fields."""
        if self.alias_depth:
            self.expanded += 1
            if self.expanded > ALIAS_NODE_BUDGET:
                raise _AliasBomb
        if isinstance(node, ScalarNode):
            return self._scalar(node, path), self._scalar_last(node)
        key = id(node)
        if key in self.active:
            raise self._fail("an alias refers to a value that contains it (a recursive structure)", node, path)
        if self.depth >= MAX_DEPTH:
            raise self._fail(f"the YAML nests deeper than {MAX_DEPTH} levels", node)
        again = key in self.built
        self.built.add(key)
        self.active.add(key)
        self.alias_depth += again
        self.depth += 1
        value: Any
        try:
            if isinstance(node, SequenceNode):
                value, last = self._sequence(node, path, lines)
            else:
                assert isinstance(node, MappingNode)
                value, last = self._mapping(node, path, lines)
        finally:
            self.active.discard(key)
            self.alias_depth -= again
            self.depth -= 1
        if node.flow_style:
            last = max(last, _mark_last(node))
        lines[path + END] = last + 1
        return value, last

    def _sequence(self, node: SequenceNode, path: str, lines: dict[str, int]) -> tuple[list[Any], int]:
        out: list[Any] = []
        last = node.start_mark.line
        for i, item in enumerate(node.value):
            item_path = f"{path}[{i}]"
            lines[item_path] = item.start_mark.line + 1
            if item.__class__ is ScalarNode and not self.alias_depth and item.tag == _STR:
                out.append(item.value)
                item_last = item.end_mark.line
                if item_last != item.start_mark.line or item_last >= self.n_lines:
                    item_last = self._scalar_last(item)
            else:
                value, item_last = self._value(item, item_path, lines)
                out.append(value)
            if item_last > last:
                last = item_last
        return out, last

    def _mapping(
        self, node: MappingNode, path: str, lines: dict[str, int], skip: str = ""
    ) -> tuple[dict[str, Any], int]:
        out: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        seen: set[str] = set()  # skipped keys, for the duplicate check
        last = node.start_mark.line
        for key_node, value_node in node.value:
            if key_node.tag == _TAG + "merge":
                last = max(last, self._merge(value_node, path, lines, merged))
                continue
            if not isinstance(key_node, ScalarNode):
                raise self._fail("a mapping key must be a plain value", key_node, path)
            key = str(key_node.value)
            field_path = _join(path, key)
            if key in out or key in seen:
                raise self._fail(f"duplicate key {key!r}", key_node, field_path)
            if key == skip:
                seen.add(key)
                continue
            lines[field_path] = key_node.start_mark.line + 1
            if value_node.__class__ is ScalarNode and not self.alias_depth and value_node.tag == _STR:
                out[key] = value_node.value  # the usual case, inlined: a string on one line
                value_last = value_node.end_mark.line
                if value_last != value_node.start_mark.line or value_last >= self.n_lines:
                    value_last = self._scalar_last(value_node)
            else:
                out[key], value_last = self._value(value_node, field_path, lines)
            if value_last > last:
                last = value_last
        if merged:
            out = {**{k: v for k, v in merged.items() if k not in out}, **out}
        return out, last

    def _merge(self, node: Node, path: str, lines: dict[str, int], merged: dict[str, Any]) -> int:
        """YAML merge keys (``<<: *base``): earlier sources win, explicit keys win over all."""
        sources = node.value if isinstance(node, SequenceNode) else [node]
        last = node.start_mark.line
        for src in sources:
            if not isinstance(src, MappingNode):
                raise self._fail("a merge key (<<) needs a mapping or a list of mappings", src, path)
            scratch: dict[str, int] = {}
            value, _ = self._value(src, path, scratch)
            for k, v in value.items():
                if k not in merged:
                    merged[k] = v
            for k, line in scratch.items():
                lines.setdefault(k, line)
        return last

    def _scalar(self, node: ScalarNode, path: str) -> Any:
        tag = node.tag
        try:
            if tag == _TAG + "null":
                return None
            if tag == _TAG + "bool":
                return _CONSTRUCTOR.construct_yaml_bool(node)
            if tag == _TAG + "int":
                return _CONSTRUCTOR.construct_yaml_int(node)
            if tag == _TAG + "float":
                return _CONSTRUCTOR.construct_yaml_float(node)
        except (ValueError, yaml.YAMLError) as exc:
            raise self._fail(f"cannot read the value {node.value!r}", node, path) from exc
        # Strings, and timestamps or custom tags, which Kubernetes reads as strings.
        return str(node.value)

    def _scalar_last(self, node: ScalarNode) -> int:
        line = node.end_mark.line
        if line == node.start_mark.line and line < self.n_lines:  # the usual one-line scalar
            return int(line)
        last = min(max(node.start_mark.line, _mark_last(node)), len(self.src_lines) - 1)
        if node.style in ("|", ">"):
            while last > node.start_mark.line and not self.src_lines[last].strip():
                last -= 1
        return last


def _mark_last(node: Node) -> int:
    """The 0-based last line of a node from its end mark (a mark at column 0 ends the line before)."""
    end = node.end_mark
    return int(end.line if end.column > 0 else end.line - 1)


def _find_key(node: MappingNode, name: str) -> tuple[Node | None, Node | None]:
    for key_node, value_node in node.value:
        if isinstance(key_node, ScalarNode) and key_node.value == name and key_node.tag != _TAG + "merge":
            return key_node, value_node
    return None, None


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _TAG + "null"


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


# -- typed access to a RawObject's fields --------------------------------------------------------
# Kind parsers read fields through these so that a wrong type is a PolicyError naming the field.


def at(path: str, key: str | int) -> str:
    """``spec`` + ``ingress`` -> ``spec.ingress``; ``spec.ingress`` + 0 -> ``spec.ingress[0]``."""
    if key.__class__ is str:
        return f"{path}.{key}" if path else key
    return f"{path}[{key}]"


def get_mapping(obj: RawObject, value: Any, path: str) -> dict[str, Any]:
    """A mapping field; absent or null is an empty mapping."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise obj.error(f"must be a mapping, not {_type_name(value)}", path)
    return value


def get_list(obj: RawObject, value: Any, path: str) -> list[Any]:
    """A list field; absent or null is an empty list."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise obj.error(f"must be a list, not {_type_name(value)}", path)
    return value


def get_str(obj: RawObject, value: Any, path: str, default: str = "") -> str:
    if value is None:
        return default
    if not isinstance(value, str):
        raise obj.error(f"must be a string, not {_type_name(value)} {value!r}", path)
    return value


def get_int(obj: RawObject, value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise obj.error(f"must be an integer, not {_type_name(value)} {value!r}", path)
    return value


def get_bool(obj: RawObject, value: Any, path: str, default: bool = False) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise obj.error(f"must be true or false, not {_type_name(value)} {value!r}", path)
    return value


def get_labels(obj: RawObject, value: Any, path: str) -> dict[str, str]:
    """A label map: string keys to string values (a null value reads as "", as in Kubernetes)."""
    labels: dict[str, str] = {}
    for key, val in get_mapping(obj, value, path).items():
        labels[key] = get_str(obj, val, at(path, key))
    return labels


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
