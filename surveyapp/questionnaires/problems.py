"""What the loader reports: problems with a file, a line and a severity.

A problem's `message` is a `model.Message`: the Japanese text the CLI prints, which
keeps its msgid and parameters so the web pages show it in the chosen language.
"""

from __future__ import annotations

from dataclasses import dataclass

from surveyapp.model import N_, Message

ERROR = "error"
WARNING = "warning"

Location = tuple[str | int, ...]  # keys and list indexes from the document root


@dataclass(frozen=True, order=True)
class Problem:
    path: str
    line: int
    message: str  # a Message, or plain text
    severity: str = ERROR

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def __str__(self) -> str:
        # `path:line: message` (DESIGN.md §3); warnings say so, errors need no label.
        label = "警告 (warning): " if self.severity == WARNING else ""
        return f"{self.path}:{self.line}: {label}{self.message}"


class DefinitionError(ValueError):
    """A definition that cannot be used; `.problems` holds every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (p.path, p.line))
        summary = summarise([p for p in self.problems if p.is_error])
        super().__init__(summary)
        self.message, self.params = summary.message, summary.params


def summarise(errors: list[Problem]) -> Message:
    """The first error (`path:line: message`) and how many more there are."""
    if not errors:
        return Message(N_("定義に誤りがあります"))
    first = errors[0]
    located = Message("%(path)s:%(line)d: %(problem)s", path=first.path, line=first.line,
                      problem=first.message)
    if len(errors) == 1:
        return located
    return Message(N_("%(first)s (ほか %(n)d 件)"), first=located, n=len(errors) - 1)


def either(names: list[str]) -> str:
    """「A または B」 of messages (type names), translated with them."""
    wanted = names[0]
    for name in names[1:]:
        wanted = Message(N_("%(first)s または %(second)s"), first=wanted, second=name)
    return wanted


def format_location(location: Location) -> str:
    """`sections[1].questions[0].id`: where in the document, to go with the line."""
    text = ""
    for part in location:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or Message(N_("(文書全体)"))


class Collector:
    """Gathers problems for one file, looking up the line of a document location."""

    def __init__(self, path: str, lines: dict[Location, int] | None = None) -> None:
        self.path = path
        self.lines = lines or {}
        self.problems: list[Problem] = []

    def line_of(self, location: Location) -> int:
        location = tuple(location)
        while location and location not in self.lines:
            location = location[:-1]
        return self.lines.get(location, 1)

    def add(self, location: Location, message: str, severity: str = ERROR) -> None:
        located = Message("%(where)s: %(problem)s", where=format_location(location),
                          problem=message)
        self.problems.append(Problem(self.path, self.line_of(location), located, severity))

    def at_line(self, line: int, message: str, severity: str = ERROR) -> None:
        self.problems.append(Problem(self.path, line, message, severity))

    def warn(self, location: Location, message: str) -> None:
        self.add(location, message, WARNING)

    @property
    def has_errors(self) -> bool:
        return any(p.is_error for p in self.problems)
