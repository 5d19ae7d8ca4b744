"""Named schema migrations, applied in order and recorded in `_sqlite_migrations`.

Never edit a migration that has shipped: add a new one. Each runs in its own
transaction, so a failing migration leaves the database as it was.
"""

from __future__ import annotations

import re

from sqlite_utils import Database, Migrations

migrations = Migrations("surveyapp")


def append_only(db: Database, table: str) -> None:
    """Triggers that make `table` append-only: history is never rewritten."""
    for event in ("UPDATE", "DELETE"):
        db.execute(
            f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
        )


@migrations(name="0001_questionnaire_versions")
def questionnaire_versions(db: Database) -> None:
    db.execute("""
        CREATE TABLE questionnaire_versions (
            id INTEGER PRIMARY KEY,
            questionnaire_id TEXT NOT NULL,
            version TEXT NOT NULL,
            fiscal_year INTEGER NOT NULL,
            title TEXT NOT NULL,
            source BLOB NOT NULL,
            sha256 TEXT NOT NULL,
            canonical_json TEXT NOT NULL,
            published_at TEXT NOT NULL,
            published_by INTEGER,
            UNIQUE (questionnaire_id, version)
        )""")


@migrations(name="0002_departments")
def departments(db: Database) -> None:
    db.execute("""
        CREATE TABLE departments (
            code TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            parent_code TEXT REFERENCES departments(code),
            headcount INTEGER NOT NULL DEFAULT 0 CHECK (headcount >= 0),
            valid_from INTEGER,
            valid_to INTEGER,
            successor_code TEXT REFERENCES departments(code),
            updated_at TEXT NOT NULL
        )""")
    db.execute("CREATE INDEX departments_parent ON departments(parent_code)")


@migrations(name="0003_users")
def users(db: Database) -> None:
    db.execute("""
        CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            login TEXT NOT NULL UNIQUE COLLATE NOCASE,
            display_name TEXT NOT NULL DEFAULT '',
            role TEXT NOT NULL CHECK (role IN ('admin', 'auditor', 'department')),
            department_code TEXT REFERENCES departments(code),
            password_hash TEXT NOT NULL,
            session_epoch INTEGER NOT NULL DEFAULT 0,
            failed_logins INTEGER NOT NULL DEFAULT 0,
            locked_at TEXT,
            active INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL,
            password_changed_at TEXT,
            CHECK ((role = 'department') = (department_code IS NOT NULL))
        )""")
    db.execute("""
        CREATE TABLE api_tokens (
            id INTEGER PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id),
            token_hash TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            last_used_at TEXT,
            revoked_at TEXT
        )""")


@migrations(name="0004_rounds")
def rounds(db: Database) -> None:
    db.execute("""
        CREATE TABLE rounds (
            id INTEGER PRIMARY KEY,
            fiscal_year INTEGER NOT NULL,
            questionnaire_id TEXT NOT NULL,
            version TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'draft'
                CHECK (status IN ('draft', 'open', 'closed')),
            opens_on TEXT,
            closes_on TEXT,
            created_at TEXT NOT NULL,
            UNIQUE (fiscal_year, questionnaire_id),
            FOREIGN KEY (questionnaire_id, version)
                REFERENCES questionnaire_versions(questionnaire_id, version)
        )""")


@migrations(name="0005_responses_answers")
def responses_answers(db: Database) -> None:
    db.execute("""
        CREATE TABLE responses (
            id INTEGER PRIMARY KEY,
            round_id INTEGER NOT NULL REFERENCES rounds(id),
            department_code TEXT NOT NULL REFERENCES departments(code),
            audience TEXT NOT NULL CHECK (audience IN ('department', 'staff')),
            status TEXT NOT NULL DEFAULT 'draft'
                CHECK (status IN ('draft', 'submitted', 'reopened')),
            version INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            updated_by INTEGER REFERENCES users(id),
            submitted_at TEXT,
            submitted_by INTEGER REFERENCES users(id)
        )""")
    # One department response per round and 所属; staff responses are many.
    db.execute("CREATE UNIQUE INDEX responses_one_department ON "
               "responses(round_id, department_code) WHERE audience = 'department'")
    db.execute("CREATE INDEX responses_round ON responses(round_id, audience, status)")
    db.execute("""
        CREATE TABLE answers (
            response_id INTEGER NOT NULL REFERENCES responses(id) ON DELETE CASCADE,
            question_id TEXT NOT NULL,
            value TEXT,
            score REAL,
            max_score REAL,
            evidence TEXT,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (response_id, question_id)
        ) WITHOUT ROWID""")
    db.execute("CREATE INDEX answers_question ON answers(question_id)")


@migrations(name="0006_history_and_audit")
def history_and_audit(db: Database) -> None:
    db.execute("""
        CREATE TABLE answer_history (
            id INTEGER PRIMARY KEY,
            response_id INTEGER NOT NULL REFERENCES responses(id),
            question_id TEXT NOT NULL,
            old_value TEXT,
            new_value TEXT,
            old_evidence TEXT,
            new_evidence TEXT,
            changed_at TEXT NOT NULL,
            changed_by INTEGER REFERENCES users(id)
        )""")
    db.execute("CREATE INDEX answer_history_response ON answer_history(response_id)")
    append_only(db, "answer_history")
    db.execute("""
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY,
            at TEXT NOT NULL,
            user_id INTEGER REFERENCES users(id),
            action TEXT NOT NULL,
            target_type TEXT,
            target_id TEXT,
            detail TEXT NOT NULL DEFAULT '{}'
        )""")
    db.execute("CREATE INDEX audit_log_action ON audit_log(action, at)")
    append_only(db, "audit_log")


@migrations(name="0007_staff_access")
def staff_access(db: Database) -> None:
    db.execute("""
        CREATE TABLE staff_links (
            id INTEGER PRIMARY KEY,
            round_id INTEGER NOT NULL REFERENCES rounds(id),
            department_code TEXT NOT NULL REFERENCES departments(code),
            token_hash TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            revoked_at TEXT
        )""")
    db.execute("CREATE INDEX staff_links_department ON "
               "staff_links(round_id, department_code)")
    db.execute("""
        CREATE TABLE staff_codes (
            id INTEGER PRIMARY KEY,
            round_id INTEGER NOT NULL REFERENCES rounds(id),
            department_code TEXT NOT NULL REFERENCES departments(code),
            code_hash TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            used_at TEXT
        )""")


@migrations(name="0008_departments_successor_index")
def departments_successor_index(db: Database) -> None:
    # Following successors year over year, and the foreign-key check that every
    # department insert runs against successor_code, would otherwise scan the table.
    db.execute("CREATE INDEX departments_successor ON departments(successor_code)")


@migrations(name="0009_followups")
def followups(db: Database) -> None:
    # Per-finding thresholds override the FOLLOWUP_THRESHOLD setting; a missing row
    # means "use the setting", so changing the setting still moves every other finding.
    db.execute("""
        CREATE TABLE followup_thresholds (
            finding TEXT PRIMARY KEY,
            threshold REAL NOT NULL CHECK (threshold >= 0 AND threshold <= 100),
            updated_at TEXT NOT NULL,
            updated_by INTEGER REFERENCES users(id)
        )""")
    db.execute("""
        CREATE TABLE improvement_items (
            id INTEGER PRIMARY KEY,
            round_id INTEGER NOT NULL REFERENCES rounds(id),
            department_code TEXT NOT NULL REFERENCES departments(code),
            finding TEXT NOT NULL,
            question_ids TEXT NOT NULL DEFAULT '[]',
            owner TEXT NOT NULL DEFAULT '',
            due_on TEXT,
            status TEXT NOT NULL DEFAULT 'not_started'
                CHECK (status IN ('not_started', 'in_progress', 'done')),
            notes TEXT NOT NULL DEFAULT '',
            version INTEGER NOT NULL DEFAULT 1,
            created_at TEXT NOT NULL,
            created_by INTEGER REFERENCES users(id),
            updated_at TEXT NOT NULL,
            updated_by INTEGER REFERENCES users(id)
        )""")
    db.execute("CREATE INDEX improvement_items_round ON "
               "improvement_items(round_id, department_code)")
    db.execute("CREATE INDEX improvement_items_department ON "
               "improvement_items(department_code)")
    db.execute("""
        CREATE TABLE improvement_item_history (
            id INTEGER PRIMARY KEY,
            item_id INTEGER NOT NULL REFERENCES improvement_items(id),
            field TEXT NOT NULL,
            old_value TEXT,
            new_value TEXT,
            changed_at TEXT NOT NULL,
            changed_by INTEGER REFERENCES users(id),
            via_round_id INTEGER REFERENCES rounds(id)
        )""")
    db.execute("CREATE INDEX improvement_item_history_item ON "
               "improvement_item_history(item_id)")
    append_only(db, "improvement_item_history")
    # 前年度の改善状況: what a 所属 reported about an item on the next round's form.
    db.execute("""
        CREATE TABLE improvement_reports (
            item_id INTEGER NOT NULL REFERENCES improvement_items(id),
            round_id INTEGER NOT NULL REFERENCES rounds(id),
            status TEXT CHECK (status IN ('not_started', 'in_progress', 'done')),
            note TEXT NOT NULL DEFAULT '',
            updated_at TEXT NOT NULL,
            updated_by INTEGER REFERENCES users(id),
            PRIMARY KEY (item_id, round_id)
        ) WITHOUT ROWID""")
    db.execute("CREATE INDEX improvement_reports_round ON improvement_reports(round_id)")


@migrations(name="0010_directory_accounts")
def directory_accounts(db: Database) -> None:
    """Where an account comes from (DESIGN.md §11), its email address and the approver
    flag (§10). A directory account stores no password: `password_hash` is ''."""
    db.execute("ALTER TABLE users ADD COLUMN auth_source TEXT NOT NULL DEFAULT 'local' "
               "CHECK (auth_source IN ('local', 'directory'))")
    db.execute("ALTER TABLE users ADD COLUMN email TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE users ADD COLUMN approver INTEGER NOT NULL DEFAULT 0 "
               "CHECK (approver IN (0, 1))")
    db.execute("ALTER TABLE users ADD COLUMN directory_dn TEXT")
    db.execute("ALTER TABLE users ADD COLUMN directory_synced_at TEXT")


@migrations(name="0011_systems")
def systems(db: Database) -> None:
    """The information-system register (情報システム台帳, DESIGN.md §12) and the
    corrections 所属 propose to it (the register's completeness is an audit point)."""
    db.execute("""
        CREATE TABLE systems (
            code TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            owner_code TEXT NOT NULL REFERENCES departments(code),
            vendor TEXT,
            hosting TEXT CHECK (hosting IN ('onprem', 'lgwan_asp', 'cloud', 'other')),
            cloud_service TEXT,
            ismap TEXT CHECK (ismap IN ('yes', 'no', 'na')),
            ismap_expires TEXT,
            criticality TEXT CHECK (criticality IN ('high', 'medium', 'low')),
            valid_from INTEGER,
            valid_to INTEGER,
            version INTEGER NOT NULL DEFAULT 1,
            updated_at TEXT NOT NULL,
            updated_by INTEGER REFERENCES users(id)
        )""")
    db.execute("CREATE INDEX systems_owner ON systems(owner_code)")
    # kind: change (fields of a registered system), retire (no longer in use), add (a
    # system missing from the register: the central office gives it its code, which
    # `system_code` names once accepted).
    db.execute("""
        CREATE TABLE system_proposals (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL CHECK (kind IN ('change', 'retire', 'add')),
            system_code TEXT REFERENCES systems(code),
            department_code TEXT NOT NULL REFERENCES departments(code),
            proposed TEXT NOT NULL DEFAULT '{}',
            registered TEXT NOT NULL DEFAULT '{}',
            note TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'pending'
                CHECK (status IN ('pending', 'accepted', 'rejected', 'withdrawn')),
            created_at TEXT NOT NULL,
            created_by INTEGER REFERENCES users(id),
            decided_at TEXT,
            decided_by INTEGER REFERENCES users(id),
            decision_note TEXT NOT NULL DEFAULT '',
            CHECK (kind = 'add' OR system_code IS NOT NULL)
        )""")
    db.execute("CREATE INDEX system_proposals_status ON system_proposals(status, id)")
    db.execute("CREATE INDEX system_proposals_department ON "
               "system_proposals(department_code, id)")

@migrations(name="0012_system_responses", transactional=False)
def system_responses(db: Database) -> None:
    """Responses of the `system` audience (DESIGN.md §12): one per system and round,
    owned by the 所属 that answers it, each answer thereby carrying its system code.

    SQLite cannot change a CHECK constraint in place, so `responses` is rebuilt: the
    documented sequence (foreign keys off, new table, copy, drop, rename, check), in
    one transaction. Built from the stored CREATE statement, so columns other
    migrations added are kept. Written to be run again after an interruption between
    its commit and the record of it."""
    if "'system'" in table_sql(db, "responses"):
        return
    db.execute("PRAGMA foreign_keys = OFF")
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            rebuild_responses(db)
            problems = db.execute("PRAGMA foreign_key_check").fetchall()
            if problems:
                raise ValueError(f"foreign key check failed: {problems[:5]}")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    finally:
        db.execute("PRAGMA foreign_keys = ON")


def table_sql(db: Database, table: str) -> str:
    return db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                      [table]).fetchone()[0]


def rebuild_responses(db: Database) -> None:
    db.execute("ALTER TABLE responses ADD COLUMN system_code TEXT REFERENCES systems(code)")
    indexes = [row[0] for row in db.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'responses' "
        "AND sql IS NOT NULL")]
    sql = re.sub(r"audience\s+IN\s*\(([^)]*)\)",
                 lambda found: f"audience IN ({found.group(1)}, 'system')",
                 table_sql(db, "responses"), count=1)
    sql = sql.rstrip().removesuffix(")") + (
        ",\n            CHECK ((audience = 'system') = (system_code IS NOT NULL))\n        )")
    db.execute(sql.replace("CREATE TABLE responses", "CREATE TABLE responses_rebuilt", 1))
    db["responses_rebuilt"].insert_all(db["responses"].rows, batch_size=1000)
    db.execute("DROP TABLE responses")
    db.execute("ALTER TABLE responses_rebuilt RENAME TO responses")
    for index in indexes:
        db.execute(index)
    db.execute("CREATE UNIQUE INDEX responses_one_system ON responses(round_id, system_code) "
               "WHERE audience = 'system'")
    db.execute("CREATE INDEX responses_systems ON responses(round_id, department_code) "
               "WHERE audience = 'system'")


@migrations(name="0013_improvement_item_systems")
def improvement_item_systems(db: Database) -> None:
    """An improvement item may name the information system it is about (§12)."""
    db.execute("ALTER TABLE improvement_items ADD COLUMN system_code TEXT "
               "REFERENCES systems(code)")
@migrations(name="0021_approvals")
def approvals(db: Database) -> None:
    """所属長 approval (DESIGN.md §10). Each decision is a row of its own, never changed;
    `responses.approval_id` names the decision that applies to the current submission
    (cleared when it is submitted again or reopened). New rounds require approval; the
    rounds that exist already were answered without it and keep going so."""
    db.execute("ALTER TABLE rounds ADD COLUMN approval_required INTEGER NOT NULL DEFAULT 1 "
               "CHECK (approval_required IN (0, 1))")
    db.execute("UPDATE rounds SET approval_required = 0")
    db.execute("""
        CREATE TABLE approval_decisions (
            id INTEGER PRIMARY KEY,
            response_id INTEGER NOT NULL REFERENCES responses(id),
            decision TEXT NOT NULL CHECK (decision IN ('approved', 'returned')),
            comment TEXT NOT NULL DEFAULT '',
            decided_by INTEGER NOT NULL REFERENCES users(id),
            decided_at TEXT NOT NULL,
            answers_sha256 TEXT NOT NULL,
            response_version INTEGER NOT NULL,
            submitted_by INTEGER REFERENCES users(id),
            submitted_at TEXT
        )""")
    db.execute("CREATE INDEX approval_decisions_response ON "
               "approval_decisions(response_id, id)")
    append_only(db, "approval_decisions")
    db.execute("ALTER TABLE responses ADD COLUMN approval_id INTEGER "
               "REFERENCES approval_decisions(id)")


@migrations(name="0022_deadlines_and_reminders")
def deadlines_and_reminders(db: Database) -> None:
    """A 所属's own deadline (an admin's extension, with its reason) and the log of the
    reminders and notices sent by mail. A message is claimed ('sending') before it goes
    out, so two runs at once cannot both send it; a failed one may go again."""
    db.execute("""
        CREATE TABLE deadline_extensions (
            round_id INTEGER NOT NULL REFERENCES rounds(id),
            department_code TEXT NOT NULL REFERENCES departments(code),
            closes_on TEXT NOT NULL,
            reason TEXT NOT NULL,
            extended_at TEXT NOT NULL,
            extended_by INTEGER REFERENCES users(id),
            PRIMARY KEY (round_id, department_code)
        ) WITHOUT ROWID""")
    db.execute("""
        CREATE TABLE reminder_log (
            id INTEGER PRIMARY KEY,
            round_id INTEGER NOT NULL REFERENCES rounds(id),
            kind TEXT NOT NULL,
            target TEXT NOT NULL,
            department_code TEXT REFERENCES departments(code),
            user_id INTEGER REFERENCES users(id),
            day TEXT NOT NULL,
            recipients TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL CHECK (status IN ('sending', 'sent', 'failed')),
            detail TEXT NOT NULL DEFAULT '',
            at TEXT NOT NULL,
            sent_by INTEGER REFERENCES users(id)
        )""")
    # At most once per (round, 所属 or user, kind, day): only a failure may repeat.
    db.execute("CREATE UNIQUE INDEX reminder_log_once ON "
               "reminder_log(round_id, kind, target, day) WHERE status != 'failed'")
    db.execute("CREATE INDEX reminder_log_round ON reminder_log(round_id, at)")


@migrations(name="0031_verification")
def verification(db: Database) -> None:
    """Audit verification (DESIGN.md §9): a plan per round, the draws and the sample
    with the reason each 所属 is in it, and the auditors' verdicts per answer."""
    # planning: the sample may be drawn and adjusted; fieldwork: it is fixed.
    db.execute("""
        CREATE TABLE verification_plans (
            round_id INTEGER PRIMARY KEY REFERENCES rounds(id),
            status TEXT NOT NULL DEFAULT 'planning'
                CHECK (status IN ('planning', 'fieldwork')),
            created_at TEXT NOT NULL,
            created_by INTEGER REFERENCES users(id),
            fieldwork_at TEXT,
            fieldwork_by INTEGER REFERENCES users(id)
        )""")
    db.execute("""
        CREATE TABLE verification_draws (
            id INTEGER PRIMARY KEY,
            round_id INTEGER NOT NULL REFERENCES rounds(id),
            seed TEXT NOT NULL,
            size INTEGER NOT NULL CHECK (size > 0),
            drawn_at TEXT NOT NULL,
            drawn_by INTEGER REFERENCES users(id)
        )""")
    # A 所属 removed by hand keeps its row (who, when, why); a current sample row has
    # no removed_at, and there is at most one per round and 所属.
    db.execute("""
        CREATE TABLE verification_samples (
            id INTEGER PRIMARY KEY,
            round_id INTEGER NOT NULL REFERENCES rounds(id),
            department_code TEXT NOT NULL REFERENCES departments(code),
            reason TEXT NOT NULL CHECK (reason IN ('low_reliability', 'lowest_score',
                'largest_rise', 'missing_evidence', 'never_sampled', 'random', 'manual')),
            detail TEXT NOT NULL DEFAULT '{}',
            draw_id INTEGER REFERENCES verification_draws(id),
            note TEXT NOT NULL DEFAULT '',
            added_at TEXT NOT NULL,
            added_by INTEGER REFERENCES users(id),
            removed_at TEXT,
            removed_by INTEGER REFERENCES users(id),
            removed_note TEXT,
            finalised_at TEXT,
            finalised_by INTEGER REFERENCES users(id),
            CHECK ((reason = 'manual') = (draw_id IS NULL))
        )""")
    db.execute("CREATE UNIQUE INDEX verification_samples_current ON "
               "verification_samples(round_id, department_code) WHERE removed_at IS NULL")
    db.execute("CREATE INDEX verification_samples_department ON "
               "verification_samples(department_code)")
    # One verdict per answer: a 所属's answer, or (DESIGN.md §12) one of its systems'
    # answers, which carries the system's code; NULL for the 所属's own answers.
    db.execute("""
        CREATE TABLE verification_verdicts (
            id INTEGER PRIMARY KEY,
            round_id INTEGER NOT NULL REFERENCES rounds(id),
            department_code TEXT NOT NULL REFERENCES departments(code),
            question_id TEXT NOT NULL,
            system_code TEXT,
            verdict TEXT NOT NULL
                CHECK (verdict IN ('confirmed', 'discrepancy', 'unverifiable')),
            self_value TEXT,
            verified_value TEXT,
            note TEXT NOT NULL DEFAULT '',
            proof_location TEXT NOT NULL DEFAULT '',
            version INTEGER NOT NULL DEFAULT 1,
            recorded_at TEXT NOT NULL,
            recorded_by INTEGER REFERENCES users(id),
            CHECK ((verdict = 'discrepancy') = (verified_value IS NOT NULL))
        )""")
    db.execute("CREATE UNIQUE INDEX verification_verdicts_answer ON verification_verdicts("
               "round_id, department_code, question_id, COALESCE(system_code, ''))")
    db.execute("""
        CREATE TABLE verification_verdict_history (
            id INTEGER PRIMARY KEY,
            verdict_id INTEGER NOT NULL REFERENCES verification_verdicts(id),
            verdict TEXT NOT NULL,
            verified_value TEXT,
            note TEXT NOT NULL,
            proof_location TEXT NOT NULL,
            via TEXT NOT NULL CHECK (via IN ('web', 'workpaper')),
            changed_at TEXT NOT NULL,
            changed_by INTEGER REFERENCES users(id)
        )""")
    db.execute("CREATE INDEX verification_verdict_history_verdict ON "
               "verification_verdict_history(verdict_id)")
    append_only(db, "verification_verdict_history")


@migrations(name="0032_improvement_items_from_verification")
def improvement_items_from_verification(db: Database) -> None:
    """Where an improvement item comes from (the follow-up lists or a verification
    discrepancy, DESIGN.md §9), and which discrepancies went into which item, so a
    discrepancy is added to an item once."""
    db.execute("ALTER TABLE improvement_items ADD COLUMN source TEXT NOT NULL "
               "DEFAULT 'followup' CHECK (source IN ('followup', 'verification'))")
    db.execute("""
        CREATE TABLE verification_item_links (
            verdict_id INTEGER NOT NULL REFERENCES verification_verdicts(id),
            item_id INTEGER NOT NULL REFERENCES improvement_items(id),
            linked_at TEXT NOT NULL,
            PRIMARY KEY (verdict_id, item_id)
        ) WITHOUT ROWID""")
    db.execute("CREATE INDEX verification_item_links_item ON verification_item_links(item_id)")


@migrations(name="0041_answer_evidence")
def answer_evidence(db: Database) -> None:
    """Evidence of an answer (DESIGN.md §13): where the proof is kept and the date it
    is from, beside the note; attachments stored once per sha256 (the files live under
    the instance, services/attachments.py) and linked to answers, a link never deleted
    but marked removed, so the answer history keeps what was replaced; and the round
    setting that allows attachments at all."""
    for column in ("evidence_location", "evidence_date"):
        db.execute(f"ALTER TABLE answers ADD COLUMN {column} TEXT")
    for column in ("evidence_location", "evidence_date", "attachments"):
        for side in ("old", "new"):
            db.execute(f"ALTER TABLE answer_history ADD COLUMN {side}_{column} TEXT")
    db.execute("""
        CREATE TABLE attachment_files (
            sha256 TEXT PRIMARY KEY CHECK (length(sha256) = 64),
            size INTEGER NOT NULL CHECK (size > 0),
            media_type TEXT NOT NULL,
            stored_at TEXT NOT NULL
        ) WITHOUT ROWID""")
    db.execute("""
        CREATE TABLE answer_attachments (
            id INTEGER PRIMARY KEY,
            response_id INTEGER NOT NULL REFERENCES responses(id),
            question_id TEXT NOT NULL,
            sha256 TEXT NOT NULL REFERENCES attachment_files(sha256),
            filename TEXT NOT NULL,
            added_at TEXT NOT NULL,
            added_by INTEGER REFERENCES users(id),
            removed_at TEXT,
            removed_by INTEGER REFERENCES users(id)
        )""")
    db.execute("CREATE INDEX answer_attachments_answer ON "
               "answer_attachments(response_id, question_id)")
    db.execute("CREATE INDEX answer_attachments_file ON answer_attachments(sha256)")
    # A link is kept for the history: never deleted, and only marked removed, once.
    db.execute("CREATE TRIGGER answer_attachments_no_delete BEFORE DELETE ON "
               "answer_attachments BEGIN SELECT RAISE(ABORT, 'answer_attachments are "
               "kept'); END")
    db.execute("CREATE TRIGGER answer_attachments_only_removed BEFORE UPDATE ON "
               "answer_attachments WHEN OLD.removed_at IS NOT NULL OR NEW.id IS NOT OLD.id "
               "OR NEW.response_id IS NOT OLD.response_id OR NEW.question_id IS NOT "
               "OLD.question_id OR NEW.sha256 IS NOT OLD.sha256 OR NEW.filename IS NOT "
               "OLD.filename OR NEW.added_at IS NOT OLD.added_at BEGIN SELECT RAISE(ABORT, "
               "'answer_attachments change only by being removed'); END")
    db.execute("ALTER TABLE rounds ADD COLUMN attachments_allowed INTEGER NOT NULL "
               "DEFAULT 0 CHECK (attachments_allowed IN (0, 1))")


@migrations(name="0042_previous_answers")
def previous_answers(db: Database) -> None:
    """Last year's answer on the form (DESIGN.md §13): an answer copied from the previous
    round (`copied`, until someone changes it), an answer the 所属 confirmed as last
    year's (`reconfirmed`), and each section the 所属 confirmed "前年どおり確認した"."""
    db.execute("ALTER TABLE answers ADD COLUMN copied INTEGER NOT NULL DEFAULT 0 "
               "CHECK (copied IN (0, 1))")
    db.execute("ALTER TABLE answers ADD COLUMN reconfirmed INTEGER NOT NULL DEFAULT 0 "
               "CHECK (reconfirmed IN (0, 1))")
    db.execute("""
        CREATE TABLE section_confirmations (
            response_id INTEGER NOT NULL REFERENCES responses(id),
            section_id TEXT NOT NULL,
            confirmed_at TEXT NOT NULL,
            confirmed_by INTEGER REFERENCES users(id),
            PRIMARY KEY (response_id, section_id)
        ) WITHOUT ROWID""")


# Statuses of a response that never count in a score (DESIGN.md §4: only a submitted
# response does; an approval leaves it `submitted`, a return makes it `reopened`; a
# status added later counts unless it is listed here).
NOT_COUNTING = "('draft', 'reopened', 'returned')"
# Columns of a response whose change can move a score or what the systems results show
# (an approval's `approval_id`, the version and the times move none of them).
RESPONSE_KEYS = ("status", "round_id", "department_code", "audience", "system_code")
# Columns of the register rows that results show (not the version or who saved it).
DEPARTMENT_COLUMNS = ("code", "name", "parent_code", "headcount", "valid_from", "valid_to",
                      "successor_code")
SYSTEM_COLUMNS = ("code", "name", "owner_code", "vendor", "hosting", "cloud_service",
                  "ismap", "ismap_expires", "criticality", "valid_from", "valid_to")


def _mark(round_sql: str, code_sql: str) -> str:
    """Trigger statements recording that the figures of one 所属 ('*': of every 所属;
    '': of the round but of no 所属) of a round changed: the generation goes up by one
    and the pair takes its number. Built only from this module's constants and NEW/OLD
    column names."""
    return MARK.replace(":round", round_sql).replace(":code", code_sql)


MARK = """
        UPDATE score_generation SET seq = seq + 1 WHERE id = 1;
        INSERT INTO score_changes (round_id, department_code, seq)
        SELECT :round, :code, (SELECT seq FROM score_generation WHERE id = 1)
        WHERE :round IS NOT NULL
        ON CONFLICT (round_id, department_code) DO UPDATE SET seq = excluded.seq;"""


def _mark_response(row: str) -> str:
    """`_mark` for the response of an answer row (`row` is NEW or OLD)."""
    return _mark(RESPONSE_COLUMN.replace(":row", row).replace(":column", "round_id"),
                 RESPONSE_COLUMN.replace(":row", row).replace(":column", "department_code"))


RESPONSE_COLUMN = "(SELECT :column FROM responses WHERE id = :row.response_id)"


def _mark_every_round() -> str:
    return """
        UPDATE score_generation SET seq = seq + 1 WHERE id = 1;
        INSERT INTO score_changes (round_id, department_code, seq)
        SELECT id, '*', (SELECT seq FROM score_generation WHERE id = 1) FROM rounds WHERE true
        ON CONFLICT (round_id, department_code) DO UPDATE SET seq = excluded.seq;"""


def _changed(columns: tuple[str, ...]) -> str:
    """A trigger condition: any of `columns` differs between OLD and NEW."""
    return "(" + " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns) + ")"


def _response_triggers() -> dict[str, tuple[str, str, str]]:
    """Responses of every audience (department, staff, and the system blocks of §12,
    whose creation or move also changes what the systems results show) and answers of
    counting responses."""
    counting = (f"(OLD.status NOT IN {NOT_COUNTING} OR NEW.status NOT IN {NOT_COUNTING} "
                "OR OLD.audience = 'system')")
    statements = {
        "responses_insert": ("AFTER INSERT ON responses",
                             f"NEW.status NOT IN {NOT_COUNTING} OR NEW.audience = 'system'",
                             _mark("NEW.round_id", "NEW.department_code")),
        "responses_update": ("AFTER UPDATE ON responses",
                             f"{counting} AND {_changed(RESPONSE_KEYS)}",
                             _mark("OLD.round_id", "OLD.department_code")
                             + _mark("NEW.round_id", "NEW.department_code")),
        "responses_delete": ("AFTER DELETE ON responses",
                             f"OLD.status NOT IN {NOT_COUNTING} OR OLD.audience = 'system'",
                             _mark("OLD.round_id", "OLD.department_code")),
    }
    # An answer joins a counting response only with the response itself (a staff
    # submission) or before its status changes (a submission; a system block's status
    # follows its 所属's), both recorded above; a trigger per inserted answer would cost
    # a staff submission a third more.
    for event, row in (("UPDATE", "NEW"), ("DELETE", "OLD")):
        statements[f"answers_{event.lower()}"] = (
            f"AFTER {event} ON answers",
            RESPONSE_COLUMN.replace(":row", row).replace(":column", "status")
            + f" NOT IN {NOT_COUNTING}", _mark_response(row))
    return statements


def _register_triggers() -> dict[str, tuple[str, str, str]]:
    """The departments, the systems (every round: their rows are read for any year) and
    the round itself (its status and settings are part of its figures)."""
    statements = {}
    for table, columns in (("departments", DEPARTMENT_COLUMNS), ("systems", SYSTEM_COLUMNS)):
        for event, condition in (("INSERT", "true"), ("UPDATE", _changed(columns)),
                                 ("DELETE", "true")):
            statements[f"{table}_{event.lower()}"] = (f"AFTER {event} ON {table}", condition,
                                                      _mark_every_round())
    statements["rounds_update"] = ("AFTER UPDATE ON rounds", "true", _mark("NEW.id", "'*'"))
    return statements


def _verification_triggers() -> dict[str, tuple[str, str, str]]:
    """Audit verification (§9): a verdict or a sample row changes the verified score and
    reliability of its 所属; the plan and the draws change the round's verification
    figures but no 所属's ('')."""
    statements = {}
    for table, code in (("verification_samples", "department_code"),
                        ("verification_verdicts", "department_code"),
                        ("verification_plans", "''"), ("verification_draws", "''")):
        for event, row in (("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")):
            column = code if code == "''" else f"{row}.{code}"
            body = _mark(f"{row}.round_id", column)
            if event == "UPDATE" and code != "''":
                body = _mark("OLD.round_id", f"OLD.{code}") + body
            statements[f"{table}_{event.lower()}"] = (f"AFTER {event} ON {table}", "true",
                                                      body)
    return statements


@migrations(name="0043_score_changes")
def score_changes(db: Database) -> None:
    """Which 所属's scores changed, recorded by triggers inside the writing transaction
    (readmodels/kept.py keeps the figures per 所属 and recomputes only these).

    `score_generation.seq` goes up with every such write; `score_changes` holds, per
    round and 所属 ('*' = the whole round, '' = the round's verification plan or draws),
    the generation of its latest change. Writes that cannot change a score — users, the
    audit log, rate limits, approvals (a response stays `submitted`), attachments and
    section confirmations (saved with a draft), autosaves of responses that do not
    count — leave both alone. Triggers rather than calls in the services, so no path
    (the CLI, an import, the demo, a later feature) can forget; a later migration that
    adds a table or column scores read adds its trigger or column here too."""
    db.execute("CREATE TABLE score_generation (id INTEGER PRIMARY KEY CHECK (id = 1), "
               "seq INTEGER NOT NULL)")
    db.execute("INSERT INTO score_generation (id, seq) VALUES (1, 0)")
    db.execute("""
        CREATE TABLE score_changes (
            round_id INTEGER NOT NULL,
            department_code TEXT NOT NULL,
            seq INTEGER NOT NULL,
            PRIMARY KEY (round_id, department_code)
        ) WITHOUT ROWID""")
    db.execute("CREATE INDEX score_changes_seq ON score_changes(round_id, seq)")
    # One 所属's responses of a round without reading the round's (store/results.py).
    db.execute("CREATE INDEX responses_department ON "
               "responses(round_id, audience, department_code, status)")
    statements = {**_response_triggers(), **_register_triggers(),
                  **_verification_triggers()}
    for name, (event, condition, body) in statements.items():
        db.execute(f"CREATE TRIGGER score_changes_{name} {event} FOR EACH ROW "
                   f"WHEN {condition} BEGIN {body} END")


def apply(db: Database) -> list[str]:
    """Apply pending migrations; return the names applied."""
    pending = [migration.name for migration in migrations.pending(db)]
    migrations.apply(db)
    return pending
