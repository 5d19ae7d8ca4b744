"""The audit workpaper (監査調書, DESIGN.md §9): the sample's answers out to Excel, the
auditors' verdicts back in. The file itself (its sheets, protection and signed
metadata) is `formats.verification_workbook`; this module decides what goes in and
what a filled-in file records. Verdicts recorded so far are filled in, so exporting
and importing again changes nothing.

An import works like the self-check's Excel answers (`excel_roundtrip`): `preview`
lists what would change and every invalid cell as `検証!G12: reason`, and `apply`
records all of it in one transaction or nothing. Rows are found by their key, not their
place, so sorting the sheet is harmless; a row whose key was not exported (a changed
question id, a 所属 not in the sample) is an error, as is an answer that changed since
export.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

from sqlite_utils import Database

from surveyapp import exports, question_types, store
from surveyapp.formats import verification_workbook as workbook_format
from surveyapp.model import N_, Message, Translate
from surveyapp.readmodels import verification as figures
from surveyapp.readmodels.verification import VERDICT_LABELS, VERDICTS
from surveyapp.refusals import Conflict, Invalid, Refusal
from surveyapp.services import audit, verification
from surveyapp.services import excel_roundtrip as roundtrip

ExportedKey = workbook_format.ExportedKey
HEADER, EDITABLE = workbook_format.HEADER, workbook_format.EDITABLE


# --- export ----------------------------------------------------------------------------


def build_workpaper(db: Database, round_id: int, key: bytes, anonymity_min: int,
                    lang: str = "ja", translate: Translate = str) -> bytes:
    """The workpaper of the round's sample; `Invalid` when the sample is empty."""
    found = figures.round_verification(db, round_id, anonymity_min)
    if not found.departments:
        raise Invalid(N_("標本に所属がありません。先に抽出してください。"))
    rows = [workpaper_row(line, lang, translate)
            for d in found.departments for line in d.lines]
    return workbook_format.build(rows, round_id, (found.questionnaire.id,
                                                  found.questionnaire.version),
                                 VERDICTS, key, translate)


def record_export(db: Database, user_id: int | None, round_id: int) -> None:
    """The workpaper taken out goes to the audit log (the web download and the command)."""
    with store.transaction(db):
        audit.record(db, user_id, "verification.export", "round", round_id)


def workpaper_row(line: figures.AnswerLine, lang: str,
                  translate: Translate = str) -> workbook_format.WorkpaperRow:
    """One answer's row; `self_evidence` is its note, where the proof is kept, its date
    and the attachments' names on one line (DESIGN.md §13)."""
    verdict = line.verdict or {}
    return workbook_format.WorkpaperRow(
        (line.code, line.question.id, line.question.text.get(lang), line.self_text,
         line.evidence.text(translate) if line.evidence else None, verdict.get("verdict"),
         verdict.get("verified_value"), verdict.get("note") or None,
         verdict.get("proof_location") or None, line.system_code),
        tuple(choice.value for choice in line.question.choices))


# --- reading an import -------------------------------------------------------------------


@dataclass(frozen=True)
class CellProblem:
    cell: str  # 検証!G12
    department_code: str
    question_id: str
    value: str
    reason: str  # a Message: the web layer shows it in the chosen language

    def __str__(self) -> str:
        return f"{self.cell}: {self.reason}"


@dataclass(frozen=True)
class VerdictChange:
    department_code: str
    department_name: str
    question_id: str
    system_code: str | None
    text: str
    self_value: str  # stored text, as exported
    old_verdict: str | None
    old_value: str | None
    verdict: str
    verified_value: str | None  # stored text
    note: str
    proof_location: str
    base_version: int  # the stored verdict's version the change was read against (0: none)


@dataclass
class WorkpaperPreview:
    round_id: int
    sha256: str
    rows: int = 0  # rows with a key that were read
    changes: list[VerdictChange] = field(default_factory=list)
    problems: list[CellProblem] = field(default_factory=list)
    seen: set[ExportedKey] = field(default_factory=set)

    def problem(self, column: str, row: int, key: tuple[str, str], value: object,
                reason: str) -> None:
        self.problems.append(CellProblem(workbook_format.cell_ref(column, row), key[0],
                                         key[1], _shown(value), reason))


def preview(db: Database, data: bytes, filename: str, key: bytes, round_id: int,
            anonymity_min: int, lang: str = "ja") -> WorkpaperPreview:
    """What importing the file would record, and its invalid cells; writes nothing.
    Raises `Invalid` when the file as a whole cannot be used."""
    meta, exported, rows = workbook_format.read_workbook(data, filename, key)
    if meta["round_id"] != round_id:
        raise Invalid(N_("別の調査回の調書です。この調査回の調書を書き出して記入してください。"))
    found = figures.round_verification(db, round_id, anonymity_min)
    result = WorkpaperPreview(round_id, hashlib.sha256(data).hexdigest())
    for number, cells in enumerate(rows, start=2):
        read_row(result, found, exported, number, cells, lang)
    return result


def read_row(result: WorkpaperPreview, found: figures.RoundVerification,
             exported: Mapping[ExportedKey, str], number: int, cells: tuple,
             lang: str) -> None:
    """Check one row; add its change or its problems to `result`."""
    cell = dict(zip(HEADER, cells, strict=True))
    key = (_plain(cell["department_code"]), _plain(cell["question_id"]),
           _plain(cell["system_code"]))
    typed = {name: _typed(result, number, key, name, cell[name]) for name in EDITABLE}
    if not key[0] and not key[1]:
        if any(typed.values()):
            result.problem("department_code", number, key[:2], "",
                           Message(N_("所属コードと設問IDのない行には記入できません。")))
        return
    line = _exported_line(result, found, exported, number, key)
    if line is None or None in typed.values():
        return
    given = _given(result, number, key, line, typed)
    if given is not None:
        _change(result, found.department(key[0]), line, given, number)


def _typed(result: WorkpaperPreview, number: int, key: tuple, name: str, cell) -> str | None:
    """The cell's text as typed (None, and a problem, for a formula or the like)."""
    try:
        return workbook_format.cell_text(cell).strip()
    except (Refusal, ValueError) as problem:
        result.problem(name, number, key[:2], _cell_value(cell), Message.of(problem))
        return None


def _exported_line(result: WorkpaperPreview, found: figures.RoundVerification,
                   exported: Mapping[ExportedKey, str], number: int,
                   key: ExportedKey) -> figures.AnswerLine | None:
    """The answer the row stands for, when the row is one that was exported as is."""
    department = found.department(key[0])
    if department is None:
        result.problem("department_code", number, key[:2], key[0], Message(
            N_("所属 %(code)s は標本に入っていません。"), code=key[0]))
        return None
    line = department.line(key[1], key[2] or None)
    if key not in exported or line is None:
        result.problem("question_id", number, key[:2], key[1], Message(
            N_("設問ID %(id)s はこの所属の調書の行にありません。"
               "書き出した調書の所属コードと設問IDは変えないでください。"), id=key[1]))
        return None
    if key in result.seen:
        result.problem("question_id", number, key[:2], key[1],
                       Message(N_("同じ所属・設問の行が2つあります。")))
        return None
    result.seen.add(key)
    result.rows += 1
    if exported[key] != line.self_text:
        result.problem("self_value", number, key[:2], exported[key], Message(
            N_("書き出した後に所属の回答が変わりました（現在: %(now)s）。"
               "調書を書き出し直してください。"), now=line.self_text))
        return None
    return line


def _given(result: WorkpaperPreview, number: int, key: ExportedKey,
           line: figures.AnswerLine, typed: Mapping[str, str]
           ) -> verification.VerdictInput | None:
    """The row's verdict; None when it has none or has a problem (then recorded)."""
    if not typed["verdict"]:
        if any(typed[name] for name in EDITABLE):
            result.problem("verdict", number, key[:2], "",
                           Message(N_("判定を入力してください。")))
        return None
    verdict = verdict_code(typed["verdict"])
    found_value = None
    try:
        found_value = (verification.parse_found(line.question, typed["verified_value"])
                       if typed["verified_value"] else None)
    except ValueError as problem:
        result.problem("verified_value", number, key[:2], typed["verified_value"],
                       Message.of(problem))
        return None
    given = verification.VerdictInput(line.question.id, verdict or typed["verdict"],
                                      found_value, typed["note"], typed["proof_location"],
                                      line.system_code)
    problems = verification.verdict_problems(line.question, given, line.value)
    for name, reason in problems.items():
        result.problem(name, number, key[:2], typed[name], reason)
    return None if problems else given


def verdict_code(text: str) -> str | None:
    """A verdict from its code or its Japanese label; None when it is neither."""
    wanted = unicodedata.normalize("NFKC", text).strip()
    for code in VERDICTS:
        if wanted.casefold() == code or wanted == unicodedata.normalize(
                "NFKC", VERDICT_LABELS[code]):
            return code
    return None


def _change(result: WorkpaperPreview, department: figures.SampledDepartment,
            line: figures.AnswerLine, given: verification.VerdictInput, number: int) -> None:
    stored = line.verdict or {}
    found_text = (None if given.verified_value is None
                  else question_types.of(line.question).to_text(given.verified_value))
    new = (given.verdict, found_text, given.note, given.proof_location)
    old = tuple(stored.get(name) for name in ("verdict", "verified_value", "note",
                                              "proof_location"))
    if new == old:
        return
    if department.finalised:
        result.problem("verdict", number, (line.code, line.question.id), given.verdict,
                       Message(N_("この所属の検証は確定済みのため、判定を変えられません。")))
        return
    result.changes.append(VerdictChange(
        line.code, department.name, line.question.id, line.system_code,
        line.question.text.get("ja"), line.self_text, old[0], old[1], *new,
        stored.get("version", 0)))


def _plain(cell) -> str:
    """A key cell's text (所属 code, question id, system code), as typed."""
    value = _cell_value(cell)
    text = "" if value is None else exports.unneutralise(str(value))
    return unicodedata.normalize("NFKC", text).strip()


def _cell_value(cell) -> object:
    return None if cell is None else cell.value


def _shown(value: object, limit: int = 80) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[:limit] + "…"


# --- applying --------------------------------------------------------------------------


def apply(db: Database, result: WorkpaperPreview, user_id: int | None,
          anonymity_min: int) -> int:
    """Record every previewed change in one transaction; returns how many changed.

    Refused (`Invalid`) while any cell is invalid; `Conflict` when a verdict or an
    answer changed after the preview (nothing is recorded then).
    """
    if result.problems:
        raise Invalid(N_("誤りのあるセルがあるため取り込めません。"
                         "修正してもう一度取り込んでください。"))
    found = figures.round_verification(db, result.round_id, anonymity_min)
    changes = [_recorded(found, change) for change in result.changes]
    return verification.record_verdicts(db, result.round_id, changes, user_id, {
        "file_sha256": result.sha256, "rows": result.rows})


def _recorded(found: figures.RoundVerification, change: VerdictChange
              ) -> tuple[figures.AnswerLine, verification.VerdictInput, int]:
    department = found.department(change.department_code)
    line = department.line(change.question_id, change.system_code) if department else None
    if line is None or line.self_text != change.self_value:
        raise Conflict(N_("確認画面を表示した後に、標本または所属の回答が変わりました。"
                          "何も記録していません。調書を書き出し直してください。"))
    kind = question_types.of(line.question)
    found_value = (None if change.verified_value is None
                   else kind.from_text(line.question, change.verified_value))
    return line, verification.VerdictInput(
        change.question_id, change.verdict, found_value, change.note,
        change.proof_location, change.system_code), change.base_version


# --- previews kept between the upload and the confirmation -----------------------------


def preview_to_json(result: WorkpaperPreview) -> dict:
    return {"round_id": result.round_id, "sha256": result.sha256, "rows": result.rows,
            "changes": [asdict(change) for change in result.changes],
            "problems": [{**asdict(p), "reason": roundtrip.message_to_json(p.reason)}
                         for p in result.problems]}


def preview_from_json(data: Mapping) -> WorkpaperPreview:
    return WorkpaperPreview(
        data["round_id"], data["sha256"], data["rows"],
        [VerdictChange(**change) for change in data["changes"]],
        [CellProblem(**{**p, "reason": roundtrip.message_from_json(p["reason"])})
         for p in data["problems"]])


class PendingWorkpapers(roundtrip.PendingUploads):
    """Workpaper previews waiting for confirmation (see `PendingUploads`)."""

    encode = staticmethod(preview_to_json)
    decode = staticmethod(preview_from_json)
