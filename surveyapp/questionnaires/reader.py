"""Safe YAML 1.2 reading: bytes -> plain data plus the line of every key and item.

The document is built straight from the event stream of ruamel's pure parser (its
marks carry lines) instead of its constructor, which lets us refuse anchors, aliases and
tags before anything is expanded or constructed: an alias bomb is just a few events
here, and no tag can ever instantiate an object. Scalars are resolved with the YAML 1.2
core schema, so `yes`/`no` stay strings and `2021.1` is a number (an error where a
string is required, reported with its line by the schema pass).
"""

from __future__ import annotations

import io
import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from surveyapp.model import N_, Message
from surveyapp.questionnaires.problems import Collector, Location

if TYPE_CHECKING:  # ruamel is imported when a file is read: a server start never reads one
    from ruamel.yaml import events as ev
    from ruamel.yaml.error import MarkedYAMLError

MAX_BYTES = 1024 * 1024
# A real definition has about 80 events per question (2,800 for the 36 of FY2021);
# 15,000 leaves room for ~190 questions. The pure-Python parser handles roughly 15,000
# events a second, so the cap makes any hostile file fail within about a second
# instead of keeping a worker busy.
MAX_EVENTS = 15_000
MAX_DEPTH = 32
MAX_READER_PROBLEMS = 50

NULL = re.compile(r"~|null|Null|NULL|")
BOOL = {"true": True, "True": True, "TRUE": True,
        "false": False, "False": False, "FALSE": False}
INT = re.compile(r"[-+]?[0-9]+")
OCT = re.compile(r"0o[0-7]+")
HEX = re.compile(r"0x[0-9a-fA-F]+")
FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
SPECIAL_FLOATS = {".inf": math.inf, ".Inf": math.inf, ".INF": math.inf,
                  "+.inf": math.inf, "+.Inf": math.inf, "+.INF": math.inf,
                  "-.inf": -math.inf, "-.Inf": -math.inf, "-.INF": -math.inf,
                  ".nan": math.nan, ".NaN": math.nan, ".NAN": math.nan}


class StopReading(Exception):
    """The document cannot be read any further; the reason is already collected."""


@dataclass
class Document:
    data: object
    lines: dict[Location, int] = field(default_factory=dict)


def resolve_plain(text: str) -> object:
    """A plain (unquoted) scalar under the YAML 1.2 core schema."""
    if NULL.fullmatch(text):
        return None
    if text in BOOL:
        return BOOL[text]
    if INT.fullmatch(text):
        return int(text, 10)
    if OCT.fullmatch(text) or HEX.fullmatch(text):
        return int(text, 0)
    if FLOAT.fullmatch(text):
        return float(text)
    return SPECIAL_FLOATS.get(text, text)


def scalar_value(event: ev.ScalarEvent) -> object:
    return resolve_plain(event.value) if event.style is None else event.value


@dataclass
class Frame:
    container: dict | list
    location: Location
    key: str | None = None
    expecting_key: bool = True


class Builder:
    """Turns events into dicts, lists and scalars, remembering lines."""

    def __init__(self, collector: Collector) -> None:
        self.collector = collector
        self.lines: dict[Location, int] = {}
        self.stack: list[Frame] = []
        self.root: object = None
        self.documents = 0
        self.events = 0
        self.aliases_seen: set[tuple[int, str | None]] = set()

    def problem(self, line: int, message: Message) -> None:
        self.collector.at_line(line, message)
        if len(self.collector.problems) >= MAX_READER_PROBLEMS:
            raise StopReading

    def feed(self, event: ev.Event) -> None:
        self.events += 1
        line = event.start_mark.line + 1
        if self.events > MAX_EVENTS:
            self.problem(line, Message(N_("YAML の要素が多すぎます (上限 %(max)d)"),
                                       max=MAX_EVENTS))
            raise StopReading
        self.check_properties(event, line)
        handler = HANDLERS.get(type(event).__name__)
        if handler:
            handler(self, event, line)

    def check_properties(self, event: ev.Event, line: int) -> None:
        anchor = getattr(event, "anchor", None)
        if type(event).__name__ == "AliasEvent":
            if (line, anchor) not in self.aliases_seen:  # one report per alias and line
                self.aliases_seen.add((line, anchor))
                self.problem(line, Message(N_("エイリアス (*%(name)s) は使えません。"
                                              "値をそのまま書いてください"), name=anchor))
        elif anchor is not None:
            self.problem(line, Message(N_("アンカー (&%(name)s) は使えません。"
                                          "値をそのまま書いてください"), name=anchor))
        tag = getattr(event, "tag", None)
        if tag is not None:
            shown = str(tag).replace("tag:yaml.org,2002:", "!!")
            self.problem(line, Message(N_("タグ (%(tag)s) は使えません"), tag=shown))

    def on_document(self, _event: ev.Event, line: int) -> None:
        self.documents += 1
        if self.documents > 1:
            self.problem(line, Message(N_("1 つのファイルに書ける YAML 文書は 1 つだけです (---)")))
            raise StopReading

    def on_scalar(self, event: ev.ScalarEvent, line: int) -> None:
        self.emit(None if event.tag is not None else scalar_value(event), line)

    def on_alias(self, _event: ev.Event, line: int) -> None:
        self.emit(None, line)

    def on_mapping(self, _event: ev.Event, line: int) -> None:
        self.open({}, line)

    def on_sequence(self, _event: ev.Event, line: int) -> None:
        self.open([], line)

    def on_end(self, _event: ev.Event, _line: int) -> None:
        self.stack.pop()

    def open(self, container: dict | list, line: int) -> None:
        if self.stack and self.top_expects_key():
            self.problem(line, Message(N_("マッピングのキーには文字列だけが使えます")))
            raise StopReading
        location = self.emit(container, line)
        if len(self.stack) >= MAX_DEPTH:
            self.problem(line, Message(N_("入れ子が深すぎます (上限 %(max)d 段)"),
                                       max=MAX_DEPTH))
            raise StopReading
        self.stack.append(Frame(container, location))

    def top_expects_key(self) -> bool:
        frame = self.stack[-1]
        return isinstance(frame.container, dict) and frame.expecting_key

    def emit(self, value: object, line: int) -> Location:
        if not self.stack:
            self.root = value
            self.lines[()] = line
            return ()
        frame = self.stack[-1]
        if isinstance(frame.container, list):
            location = (*frame.location, len(frame.container))
            frame.container.append(value)
            self.lines[location] = line
            return location
        return self.emit_into_mapping(frame, value, line)

    def emit_into_mapping(self, frame: Frame, value: object, line: int) -> Location:
        if frame.expecting_key:
            self.take_key(frame, value, line)
            return frame.location
        location = (*frame.location, frame.key)
        frame.container[frame.key] = value
        frame.expecting_key = True
        return location

    def take_key(self, frame: Frame, key: object, line: int) -> None:
        if not isinstance(key, str):
            self.problem(line, Message(N_("キー %(key)s は文字列にしてください (引用符で囲む)"),
                                       key=repr(key)))
            key = str(key)
        if key in frame.container:
            first = self.lines.get((*frame.location, key), line)
            self.problem(line, Message(N_("キー '%(key)s' が重複しています (%(first)d 行目と同じ)"),
                                       key=key, first=first))
        frame.key = key
        frame.expecting_key = False
        self.lines.setdefault((*frame.location, key), line)


HANDLERS = {  # by the name of ruamel's event class
    "DocumentStartEvent": Builder.on_document,
    "ScalarEvent": Builder.on_scalar,
    "AliasEvent": Builder.on_alias,
    "MappingStartEvent": Builder.on_mapping,
    "SequenceStartEvent": Builder.on_sequence,
    "MappingEndEvent": Builder.on_end,
    "SequenceEndEvent": Builder.on_end,
}


def decode(data: bytes, collector: Collector) -> str | None:
    if len(data) > MAX_BYTES:
        collector.at_line(1, Message(N_("ファイルが大きすぎます (%(size)s バイト、上限 1 MiB)"),
                                     size=f"{len(data):,}"))
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        collector.at_line(line, Message(N_("UTF-8 として読めない文字があります。"
                                           "UTF-8 で保存してください")))
        return None


def read_document(data: bytes, collector: Collector) -> Document | None:
    """Parse `data`; None (with problems collected) when it is not usable YAML."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    text = decode(data, collector)
    if text is None:
        return None
    builder = Builder(collector)
    try:
        # The pure "safe" parser gives the same events as "rt" without collecting
        # comments, which was a third of the time of `questionnaires check`.
        for event in YAML(typ="safe", pure=True).parse(io.StringIO(text)):
            builder.feed(event)
    except StopReading:
        return None
    except MarkedYAMLError as error:
        report_syntax_error(error, collector)
        return None
    except (YAMLError, RecursionError, ValueError) as error:
        collector.at_line(1, Message(N_("YAML として読み取れません: %(error)s"), error=str(error)))
        return None
    return None if collector.has_errors else Document(builder.root, builder.lines)


def report_syntax_error(error: MarkedYAMLError, collector: Collector) -> None:
    mark = error.problem_mark or error.context_mark
    line = mark.line + 1 if mark is not None else 1
    detail = " ".join(part for part in (error.context, error.problem) if part)
    collector.at_line(line, Message(N_("YAML の書式に誤りがあります: %(detail)s"), detail=detail))
