"""The `answers`, `scores` and `systems` exports (DESIGN.md §7, §12) as tables for
`surveyapp.exports`.

`answers` is long format, one row per answer, across questionnaire versions (one round
or every round), streamed from SQL. `scores` has one row per 所属 of one round,
`systems` one row per information system of one round (its register data and scores).

Who sees what (`Scope`): admins and auditors export everything; a department user
exports its own 所属 only, and in the answers export only its own department response
and its systems' answers, never individual staff rows. Even with at least
ANONYMITY_MIN_RESPONSES staff answers, single rows (free text, the day of answering)
let the 所属's manager, who knows who answered when, recognise colleagues; the
所属's staff figures reach it aggregated, in the scores export and on the results
pages, and only above the minimum.

Staff rows carry no identity: no user, and `submitted_at` is cut to the calendar day
(of the TIMEZONE setting), so a time of day cannot be matched to a person. A department
row's `submitted_at` is its local date and time: ISO 8601 with the offset in CSV
(`2021-06-30T14:05:09+09:00`), a real date and time in XLSX.

Every column has a Japanese heading (`ANSWER_LABELS`, `SCORE_LABELS`; the section and
audit-item columns take their titles) and a note for the XLSX 項目説明 sheet:
`tests/test_exports.py` fails on a column without one, so a new column adds both.
Audit-item columns follow the catalogue's order (`surveyapp.findings`); the XLSX leaves
out sections that are never scored (the screening section), the CSV keeps the
contract's one column per section.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date

from sqlite_utils import Database

from surveyapp import audiences, clock, exports, findings
from surveyapp.formats import systems_csv
from surveyapp.model import N_, Questionnaire, Section
from surveyapp.readmodels import aggregate, approval_states, deadlines, system_results
from surveyapp.readmodels import rounds as round_reads
from surveyapp.readmodels.definitions import get_definition
from surveyapp.readmodels.results_view import scored_sections
from surveyapp.refusals import Invalid, Refusal
from surveyapp.store import exports as export_store

FORMATS = ("csv", "xlsx")
WHATS = ("answers", "scores", "systems")
MIMETYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# DESIGN.md §7, then §12's `system_code` (empty outside the system audience) and §13's
# evidence: where the proof is kept, its date, the attachments' sha256 joined by ';'.
ANSWER_COLUMNS = (
    "fiscal_year", "round_id", "questionnaire_id", "version", "department_code",
    "department_name", "audience", "response_id", "status", "submitted_at", "section_id",
    "question_id", "value", "score", "max_score", "evidence", "system_code",
    "evidence_location", "evidence_date", "attachments",
)
SCORE_COLUMNS = (
    "code", "name", "bureau_code", "bureau_name", "submitted", "staff_responses",
    "headcount", "response_rate", "overall", "band",
)
SYSTEM_COLUMNS = (
    "system_code", "name", "owner_code", "owner_name", "bureau_code", "vendor", "hosting",
    "cloud_service", "ismap", "ismap_expires", "criticality", "answered", "submitted",
    "overall", "band",
)
# Appended after the findings (new columns go at the end, DESIGN.md §9): the 所属's
# status (approval_states.STATUSES), when and by whom it was approved, and its deadline;
# then what `overall` rests on (combined / department / staff); then, in a round that
# asks per system, the 所属's number of systems (§12).
APPROVAL_COLUMNS = ("status", "approved_at", "approved_by", "closes_on")
BASIS_COLUMNS = ("overall_basis",)
# (Japanese heading, what the column holds) of every fixed column: the XLSX header row
# and its 項目説明 sheet. A new column adds its line here.
ANSWER_LABELS = {
    "fiscal_year": ("年度", "調査回の年度（西暦）"),
    "round_id": ("調査回ID", "調査回の番号"),
    "questionnaire_id": ("調査票ID", "調査票の識別子"),
    "version": ("版", "調査票の版"),
    "department_code": ("所属コード", ""),
    "department_name": ("所属名", ""),
    "audience": ("回答者", "department: 所属の自己点検、system: 情報システムごとの自己点検、"
                 "staff: 職員アンケート（匿名）"),
    "response_id": ("回答ID", "一つの回答（自己点検1件、システム1件、職員の回答1件）の番号"),
    "status": ("状態", "draft: 下書き、submitted: 提出済み、reopened: 再開"),
    "submitted_at": ("提出日時", "{zone} の時刻（設定 TIMEZONE）。職員の回答は日付だけ"),
    "section_id": ("分野", "設問の分野（セクション）の識別子"),
    "question_id": ("設問", "設問の識別子"),
    "value": ("回答", "選んだ選択肢の値（複数選択は ; 区切り）、または入力した内容"),
    "score": ("得点", "この回答の点数。採点しない設問・該当なしは空欄"),
    "max_score": ("満点", "この設問の満点"),
    "evidence": ("根拠", "所属が記入した根拠メモ（職員の回答にはない）"),
    "system_code": ("システムコード", "システムごとの回答の対象システム（所属自身の回答では空欄）"),
    "evidence_location": ("根拠の保管場所", "根拠の資料を保管している場所"),
    "evidence_date": ("根拠の日付", "根拠の資料の日付（入力した日ではない）"),
    "attachments": ("添付ファイル", "添付ファイルの sha256（; 区切り、追加した順）"),
}
SCORE_LABELS = {
    "code": ("所属コード", ""),
    "name": ("所属名", ""),
    "bureau_code": ("部局コード", ""),
    "bureau_name": ("部局名", ""),
    "submitted": ("自己点検の提出", "1: 提出済み、0: 未提出"),
    "staff_responses": ("職員回答数", "提出された職員アンケートの回答の数"),
    "headcount": ("職員数", "所属の人数"),
    "response_rate": ("職員回答率", "職員回答数 ÷ 職員数"),
    "overall": ("総合得点", "0〜100"),
    "band": ("評価区分", "総合得点の評価区分"),
    "overall_basis": ("得点の根拠", "combined: 自己点検と職員回答の合算、department: 自己点検"
                      "だけ（職員の回答が最小人数未満）、staff: 職員回答だけ（自己点検が未提出）"),
    "status": ("承認の状態", "not_started: 未着手、draft: 下書き、submitted: 提出済み"
               "（承認が必要な調査回では承認待ち）、approved: 承認済み、returned: 差戻し"
               "（API の status と同じ値）"),
    "approved_at": ("承認日時", "{zone} の時刻（設定 TIMEZONE）"),
    "approved_by": ("承認者", "承認した人のログイン名"),
    "closes_on": ("締切日", "この所属の締切日（延長があれば延長後）"),
    "systems": ("システム数",
                "この所属が回答する情報システムの数（システム別の設問がある調査回だけ）"),
}


def codes_note(names: dict[str, str]) -> str:
    """A coded column's note: each code with its Japanese name."""
    return "、".join(f"{code}: {name}" for code, name in names.items())


SYSTEM_LABELS = {
    "system_code": ("システムコード", "情報システム台帳のコード"),
    "name": ("システム名", ""),
    "owner_code": ("所管所属コード", "この年度にシステムを所管する所属"),
    "owner_name": ("所管所属名", ""),
    "bureau_code": ("部局コード", "所管所属の部局"),
    "vendor": ("事業者", "開発・運用の委託先"),
    "hosting": ("設置形態", codes_note(systems_csv.HOSTINGS)),
    "cloud_service": ("クラウドサービス", "利用しているクラウドサービスの名称"),
    "ismap": ("ISMAP 登録", codes_note(systems_csv.ISMAP)),
    "ismap_expires": ("ISMAP 有効期限", "ISMAP 登録の有効期限"),
    "criticality": ("重要度", codes_note(systems_csv.CRITICALITIES)),
    "answered": ("回答の有無", "1: この調査回にこのシステムの回答がある（下書きを含む）、"
                 "0: 未回答"),
    "submitted": ("提出", "1: 所管所属の自己点検とともに提出済み、0: 未提出"),
    "overall": ("総合得点", "システムの得点（0〜100）"),
    "band": ("評価区分", "総合得点の評価区分"),
}
SHEET_TITLES = {"answers": "回答", "scores": "得点", "systems": "システム別得点"}
FILE_LABELS = {"answers": "回答データ", "scores": "得点", "systems": "システム別得点"}
ANSWER_WIDTHS = {"department_name": 24, "submitted_at": 22, "value": 24, "evidence": 40,
                 "evidence_location": 30, "evidence_date": 12, "attachments": 40}
XLSX_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Scope:
    """What one export may contain: every 所属 (None) or one, with or without staff rows."""

    department_code: str | None = None
    with_staff: bool = True

    @classmethod
    def for_user(cls, role: str, department_code: str | None) -> Scope:
        if role in ("admin", "auditor"):
            return cls()
        if role == "department" and department_code:
            return cls(department_code, with_staff=False)
        raise Refusal(N_("この出力は許可されていません"))


EVERYTHING = Scope()


# --- answers ----------------------------------------------------------------------


def answers_sheet(db: Database, round_id: int | None, scope: Scope = EVERYTHING
                  ) -> exports.Sheet:
    """The answers of one round (None: every round) as a lazily read sheet."""
    if round_id is not None:
        round_reads.require_round(db, round_id)
    return exports.Sheet(SHEET_TITLES["answers"], ANSWER_COLUMNS,
                         answer_rows(db, round_id, scope), widths=ANSWER_WIDTHS,
                         labels=headings(ANSWER_LABELS), notes=notes(ANSWER_LABELS))


def headings(table: dict[str, tuple[str, str]]) -> dict[str, str]:
    return {name: heading for name, (heading, _note) in table.items()}


def notes(table: dict[str, tuple[str, str]]) -> dict[str, str]:
    """The notes, `{zone}` replaced by the zone timestamps are written in (the XLSX has
    no time zones, so its 項目説明 sheet says which one)."""
    zone = clock.zone().key
    return {name: note.replace("{zone}", zone) for name, (_heading, note) in table.items()}


def answer_rows(db: Database, round_id: int | None, scope: Scope) -> Iterator[list]:
    sections = SectionIndex(db)
    for row in export_store.iter_answers(db, round_id, scope.department_code,
                                         scope.with_staff, audiences.named()):
        yield answer_row(row, sections.section_of(row))


def day(text: str | None) -> date | str | None:
    """A stored yyyy-mm-dd as a date (a real date in the XLSX, the same text in CSV);
    anything else as it is."""
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return text


def answer_row(row: dict, section_id: str | None) -> list:
    submitted_at = clock.local_time(row["submitted_at"])
    if submitted_at and audiences.lookup(row["audience"]).anonymous:  # the day only
        submitted_at = submitted_at.date()
    elif submitted_at:
        submitted_at = submitted_at.replace(microsecond=0)
    values = {"system_code": None, **row, "submitted_at": submitted_at,
              "section_id": section_id, "evidence_date": day(row.get("evidence_date"))}
    return [values[column] for column in ANSWER_COLUMNS]


class SectionIndex:
    """question id -> section id per questionnaire version, each definition read once."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.known: dict[tuple[str, str], dict[str, str]] = {}

    def section_of(self, row: dict) -> str | None:
        key = (row["questionnaire_id"], row["version"])
        if key not in self.known:
            self.known[key] = section_ids(get_definition(self.db, *key))
        return self.known[key].get(row["question_id"])


def section_ids(questionnaire: Questionnaire) -> dict[str, str]:
    return {q.id: q.section_id for q in questionnaire.questions}


# --- scores -----------------------------------------------------------------------


def scores_sheet(db: Database, round_id: int, anonymity_min: int,
                 scope: Scope = EVERYTHING, for_people: bool = False) -> exports.Sheet:
    """One row per 所属 of the round (only the scope's 所属), sections then audit items
    (in the catalogue's order), then its approval and deadline (APPROVAL_COLUMNS,
    DESIGN.md §10), the basis of its overall score and, in a round that asks per
    system, its number of systems (§12). `for_people` (the XLSX) leaves out the
    sections that are never scored, whose columns would always be empty."""
    scores = aggregate.round_scores(db, round_id, anonymity_min)
    questionnaire = scores.questionnaire
    shown = scored_sections(questionnaire) if for_people else questionnaire.sections
    sections = [section.id for section in shown]
    items = findings.ordered_findings(questionnaire.findings)
    systems = bool(questionnaire.questions_for(audiences.SYSTEM.name))
    header = [*SCORE_COLUMNS, *sections, *items, *APPROVAL_COLUMNS, *BASIS_COLUMNS,
              *(["systems"] * systems)]
    bureaus = {bureau.code: bureau.name for bureau in scores.bureaus}
    states = approval_states.round_statuses(db, round_id)
    default, extended = deadlines.deadlines_of_round(db, round_id)
    rows = [[*score_row(result, bureaus, sections, items),
             *approval_cells(states.get(result.code), extended.get(result.code, default)),
             result.basis, *([result.systems] * systems)]
            for result in scores.departments
            if scope.department_code in (None, result.code)]
    formats, labels, column_notes = figure_columns(SCORE_LABELS, shown, items)
    return exports.Sheet(SHEET_TITLES["scores"], header, rows, widths={"name": 24},
                         formats={**formats, "response_rate": "0.0%"}, labels=labels,
                         notes=column_notes)


def figure_columns(fixed: dict[str, tuple[str, str]], shown: Iterable[Section],
                   items: Sequence[str]) -> tuple[dict[str, str], ...]:
    """(number formats, Japanese headings, notes) of a score sheet: its `fixed` columns,
    then one per section shown and per audit item."""
    shown = tuple(shown)
    formats = {name: "0.0" for name in ("overall", *(s.id for s in shown), *items)}
    labels = {**headings(fixed), **{s.id: f"{s.id} {s.title.get('ja')}" for s in shown},
              **{item: findings.label(item) for item in items}}
    column_notes = {**notes(fixed), **{s.id: "分野の得点（0〜100）" for s in shown},
                    **{item: "監査項目の得点（0〜100）" for item in items}}
    return formats, labels, column_notes


def score_row(result: aggregate.DepartmentResult, bureaus: dict[str, str],
              sections: list[str], items: list[str]) -> list:
    return [result.code, result.name, result.parent_code, bureaus.get(result.parent_code),
            result.submitted, result.staff_responses, result.headcount,
            result.response_rate, result.overall, result.band.id if result.band else None,
            *(result.sections.get(s) for s in sections),
            *(result.findings.get(f) for f in items)]


# --- systems ----------------------------------------------------------------------


def systems_sheet(db: Database, round_id: int, scope: Scope = EVERYTHING) -> exports.Sheet:
    """One row per information system of the round (a department user: its own 所属's),
    its register data, then its overall, band, system sections and audit items (§12)."""
    found = system_results.round_systems(db, round_id)
    shown = found.questionnaire.sections_for(audiences.SYSTEM.name)
    sections = [s.id for s in shown]
    items = findings.ordered_findings(system_results.system_findings(found.questionnaire))
    rows = [system_row(system, sections, items) for system in found.systems
            if scope.department_code in (None, system.owner_code)]
    formats, labels, column_notes = figure_columns(SYSTEM_LABELS, shown, items)
    return exports.Sheet(SHEET_TITLES["systems"], (*SYSTEM_COLUMNS, *sections, *items),
                         rows, widths={"name": 28, "owner_name": 24}, formats=formats,
                         labels=labels, notes=column_notes)


def system_row(system: system_results.SystemResult, sections: list[str],
               items: Sequence[str]) -> list:
    row = system.row
    return [system.code, system.name, system.owner_code, system.owner_name,
            system.bureau_code, row["vendor"], row["hosting"], row["cloud_service"],
            row["ismap"], row["ismap_expires"], row["criticality"], system.answered,
            system.submitted, system.overall, system.band.id if system.band else None,
            *(system.scores.sections.get(s) for s in sections),
            *(system.scores.findings.get(f) for f in items)]


def approval_cells(state: dict | None, deadline: deadlines.Deadline) -> list:
    state = state or {"status": "not_started", "approved_at": None,
                      "approved_by_login": None}
    approved_at = clock.local_time(state["approved_at"])
    return [state["status"], approved_at.replace(microsecond=0) if approved_at else None,
            state["approved_by_login"], deadline.closes_on]


# --- files ------------------------------------------------------------------------


def sheet_for(db: Database, what: str, round_id: int | None, anonymity_min: int,
              scope: Scope = EVERYTHING, fmt: str = "csv") -> exports.Sheet:
    """The table of an export; an XLSX (for people) leaves out never-scored sections."""
    if what == "answers":
        return answers_sheet(db, round_id, scope)
    if what == "scores" and round_id is not None:
        return scores_sheet(db, round_id, anonymity_min, scope, for_people=fmt == "xlsx")
    if what == "systems" and round_id is not None:
        return systems_sheet(db, round_id, scope)
    raise Invalid(N_("得点の出力には調査回の指定が必要です"))


def chunks(sheet: exports.Sheet, fmt: str) -> Iterator[bytes]:
    """The file's bytes in pieces; an XLSX is assembled in a temporary file first (a
    zip cannot be streamed row by row), never in memory."""
    if fmt == "csv":
        yield from exports.csv_chunks(sheet.header, sheet.rows)
        return
    with tempfile.TemporaryFile() as spool:
        exports.write_xlsx(spool, [sheet])
        spool.seek(0)
        while piece := spool.read(XLSX_CHUNK):
            yield piece


def write_file(out, sheet: exports.Sheet, fmt: str) -> None:
    """Write the whole file to an open binary file."""
    if fmt not in FORMATS:
        raise Invalid(N_("形式は %(formats)s のどちらかです: %(format)s"),
                      formats=" / ".join(FORMATS), format=fmt)
    if fmt == "xlsx":
        exports.write_xlsx(out, [sheet])
    else:
        exports.write_csv(out, sheet.header, sheet.rows)


def file_names(what: str, fmt: str, round_: round_reads.Round | None,
               department_code: str | None = None) -> tuple[str, str]:
    """(Japanese file name, ASCII fallback), e.g. 回答データ_2021年度_0302.csv."""
    year = f"{round_.fiscal_year}年度" if round_ else "全年度"
    ascii_year = f"fy{round_.fiscal_year}-round{round_.id}" if round_ else "all-rounds"
    unit = f"_{department_code}" if department_code else ""
    japanese = f"{FILE_LABELS[what]}_{year}{unit}.{fmt}"
    fallback = f"{what}_{ascii_year}{unit if unit.isascii() else ''}.{fmt}"
    return japanese, fallback


