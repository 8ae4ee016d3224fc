"""A fast first look at a manifest file: what can be refused before the file is read into objects.

The web upload answers at once and reads the objects in the background; what this module checks is
what it still refuses on the spot, with the message, file, document and line the full reader
(``yamlload``) gives for the same fault:

- the size limit and text that UTF-8 cannot encode;
- YAML syntax (libyaml's parser, without building any node or value: about a quarter of the
  cost of composing the documents and a tenth of reading them into objects);
- nesting deeper than ``MAX_DEPTH``;
- documents that are not objects: a list or a single value where a mapping must be, and a
  mapping without ``kind``.

Everything else (field types, names, selectors, ports, duplicates) is found when the objects are
read, by the analysis; aliases are not followed here, so their expansion budget is checked there too.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from policies.engine.errors import PolicyError
from policies.engine.yamlload import MAX_DEPTH, check_size

__all__ = ["check_syntax"]

_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_NULL_TAG = "tag:yaml.org,2002:null"
_NULL_VALUES = frozenset({"", "~", "null", "Null", "NULL"})
_MERGE_KEY = "<<"


def check_syntax(name: str, text: str, *, max_bytes: int | None = None) -> None:
    """Refuse ``text`` (the file ``name``) when it breaks a rule above, raising PolicyError.
    ``max_bytes``: the size limit (None: any size)."""
    check_size(name, text, max_bytes)
    if not _plainly_fine(text):
        _Scan(name).run(text)  # exact, and names where a fault is


# A document marker at the start of a line ends any block scalar: splitting there is exact.
_DOCUMENT_MARKER = re.compile(r"^(?:---|\.\.\.)(?=[ \t\r\n]|$)(.*)$", re.MULTILINE)
# A document that is plainly a block mapping: its first line that is not blank or a comment
# starts at column 0 with a plain key.
_FIRST_KEY = re.compile(r"\A(?:[ \t]*(?:#[^\n]*)?\n)*[A-Za-z_][\w.-]*:(?:[ \t]|\r?\n|\Z)")
_TOP_KIND = re.compile(r"^kind:[ \t]*[^\s#]", re.MULTILINE)
_BRACKET = re.compile(r"[\[\]{}]")


def _plainly_fine(text: str) -> bool:
    """A quick yes for the usual file (block mappings with a top-level kind, nothing deep), in a
    fraction of the event walk's time: libyaml's parser in C alone, then the text. No only means
    "walk the events": a file in flow style (JSON), with directives, lists or tags at document
    level, or deep nesting is checked there, as is any file that libyaml refuses."""
    loader = _Loader(text)
    if not hasattr(loader, "raw_parse"):  # PyYAML without libyaml
        loader.dispose()
        return False
    try:
        loader.raw_parse()  # the whole syntax, in C, without building events
    except yaml.YAMLError:
        return False
    finally:
        loader.dispose()
    if text.lstrip().startswith("%"):
        return False
    # Each level of nesting needs an opening bracket or one more column of block indentation
    # (a "- ", "? " or ": " counts as indentation), so this bounds the depth from above.
    depth = deepest = 0
    for bracket in _BRACKET.finditer(text):
        depth += 1 if bracket.group() in "[{" else -1
        deepest = max(deepest, depth)
    indent = MAX_DEPTH - deepest - 1
    if indent <= 0 or re.search(rf"^[ \t?:-]{{{indent},}}", text, re.MULTILINE):
        return False
    start = 0
    for marker in _DOCUMENT_MARKER.finditer(text):
        rest = marker.group(1).strip()
        if rest and not rest.startswith("#"):
            return False  # content on the marker's line ("--- {a: 1}", "--- !tag")
        if not _plain_object(text[start : marker.start()]):
            return False
        start = marker.end()
    return _plain_object(text[start:])


def _plain_object(document: str) -> bool:
    """An empty document, or a block mapping with a top-level ``kind``."""
    if not any(line.strip() and not line.lstrip().startswith("#") for line in document.splitlines()):
        return True
    return bool(_FIRST_KEY.match(document)) and bool(_TOP_KIND.search(document))


class _Scan:
    """Walks libyaml's events, keeping only what the checks need: the depth, the document index,
    and in each document's top mapping whether a ``kind`` key was seen."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.document = 0
        self.objects = 0
        self.depth = 0
        # The document's top mapping: its start line, whether the next scalar at depth 1 is a key,
        # and whether "kind" (or a merge key, which may bring one) is among its keys.
        self.top_line = 0
        self.expect_key = False
        self.has_kind = False

    def run(self, text: str) -> int:
        loader = _Loader(text)
        try:
            while True:
                event = loader.get_event()
                if event is None:
                    return self.objects
                self.event(event)
        except yaml.MarkedYAMLError as exc:
            raise self.syntax_error(exc) from exc
        except yaml.reader.ReaderError as exc:
            line = text.count("\n", 0, max(exc.position, 0)) + 1
            message = f"unacceptable character #x{exc.character:04x}: {exc.reason}"
            raise PolicyError(message, file=self.name, line=line) from exc
        except yaml.YAMLError as exc:
            raise PolicyError(f"cannot read YAML: {exc}", file=self.name, document=self.document) from exc
        finally:
            loader.dispose()

    def event(self, event: yaml.Event) -> None:
        if isinstance(event, yaml.CollectionStartEvent):
            if self.depth == 0:
                self.document_root(event)
            elif self.depth == 1:
                self.expect_key = not self.expect_key  # a value (of a key of the top mapping)
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self.fail(f"the YAML nests deeper than {MAX_DEPTH} levels", event)
        elif isinstance(event, yaml.CollectionEndEvent):
            self.depth -= 1
            if self.depth == 0 and not self.has_kind:
                raise PolicyError("the object has no kind", file=self.name, document=self.document,
                                  line=self.top_line)
        elif isinstance(event, yaml.ScalarEvent | yaml.AliasEvent):
            if self.depth == 0:
                self.document_root(event)
            elif self.depth == 1:
                if self.expect_key and isinstance(event, yaml.ScalarEvent) and event.value in ("kind", _MERGE_KEY):
                    self.has_kind = True
                self.expect_key = not self.expect_key
        elif isinstance(event, yaml.DocumentEndEvent):
            self.document += 1

    def document_root(self, event: yaml.Event) -> None:
        """The first node of a document: a mapping, or nothing (an empty document is skipped)."""
        if isinstance(event, yaml.MappingStartEvent):
            self.objects += 1
            self.top_line = _line(event)
            self.expect_key = True
            self.has_kind = False
            return
        if isinstance(event, yaml.ScalarEvent) and _is_null(event):
            return
        what = "a list" if isinstance(event, yaml.SequenceStartEvent) else "a single value"
        raise self.fail(f"a document must be a Kubernetes object (a mapping), not {what}", event)

    def fail(self, message: str, event: yaml.Event) -> PolicyError:
        return PolicyError(message, file=self.name, document=self.document, line=_line(event))

    def syntax_error(self, exc: yaml.MarkedYAMLError) -> PolicyError:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "invalid YAML"
        if exc.context:
            problem = f"{problem} ({exc.context})"
        if "nesting depth" in problem:  # newer libyaml versions refuse deep nesting themselves
            problem = f"the YAML nests deeper than {MAX_DEPTH} levels"
        else:
            problem = f"YAML syntax error: {problem}"
        line = int(mark.line) + 1 if mark is not None else None
        return PolicyError(problem, file=self.name, document=self.document, line=line)


def _line(event: yaml.Event) -> int:
    return int(event.start_mark.line) + 1 if event.start_mark is not None else 0


def _is_null(event: yaml.ScalarEvent) -> bool:
    """An empty document's value (plain ``~``, ``null`` or nothing), as the resolver reads it."""
    if event.tag == _NULL_TAG:
        return True
    return event.tag in (None, "!") and bool(event.implicit[0]) and event.value in _NULL_VALUES
