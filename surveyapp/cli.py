"""The `surveyapp` command group (DESIGN.md §5).

Every command takes `--instance PATH`; errors exit non-zero with one line on stderr.
Commands are thin: they parse arguments and call services; a service's refusal
(surveyapp.refusals) becomes that line in one place, `command`.

Quick to start: `surveyapp --help` builds no app, and a command imports what it uses
inside its body (services, matplotlib, openpyxl), so `--help` or `questionnaires check`
cost about what importing flask and sqlite_utils does (bench/startup.py measures it,
tests/test_startup.py keeps the heavy modules out).
"""

from __future__ import annotations

import functools
import os
import sys
from dataclasses import replace
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup, FlaskGroup, with_appcontext

from surveyapp import create_app, instance_folder, migrations, settings, store
from surveyapp.refusals import Refusal


class CommandError(click.ClickException):
    """A one-line reason, exit status 1 (click's `exit_code` of a ClickException)."""

    def show(self, file=None) -> None:
        click.echo(f"エラー / error: {self.format_message()}", err=True)


def set_instance(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value:
        os.environ["SURVEYAPP_INSTANCE"] = str(Path(value).resolve())


instance_option = click.option(
    "--instance", metavar="PATH", expose_value=False, is_eager=True,
    callback=set_instance, help="Instance folder (default: instance/).")


def command(group: click.Group, *args, app: bool = True, **kwargs):
    """Register a command that takes --instance and runs inside an app context
    (`app=False`: without one, for commands that need no more than the settings)."""
    def decorate(fn):
        @functools.wraps(fn)
        def run(*a, **kw):
            try:
                return fn(*a, **kw)
            except Refusal as error:  # every kind alike: its Japanese text, exit 1
                raise CommandError(str(error)) from error
            except OSError as error:  # a file or folder that cannot be read or written
                raise CommandError(str(error)) from error
        body = with_appcontext(run) if app else run
        if isinstance(group, AppGroup):  # it would add an app context of its own
            kwargs["with_appcontext"] = False
        return group.command(*args, **kwargs)(instance_option(body))
    return decorate


def db():
    return store.connect(current_app.config["DATABASE"])


def anonymity_min() -> int:
    return int(current_app.config["ANONYMITY_MIN_RESPONSES"])


def secret_key() -> bytes:
    return str(current_app.config["SECRET_KEY"]).encode("utf-8")


class SurveyappGroup(FlaskGroup):
    """A FlaskGroup whose commands are all its own: listing them (`--help`) and finding
    one build no app and scan no plugins; a command builds the app when it runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return click.Group.list_commands(self, ctx)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return click.Group.get_command(self, ctx, name)


@click.group(cls=SurveyappGroup, create_app=lambda: create_app(),
             add_default_commands=False, add_version_option=False)
@instance_option
def cli() -> None:
    """surveyapp: 情報セキュリティ自己点検 / security self-check."""


@command(cli, "init")
def init_command() -> None:
    """Create the instance folder, secret key and database (runs migrations)."""
    Path(current_app.instance_path).mkdir(parents=True, exist_ok=True)
    applied = migrations.apply(db())
    click.echo(f"instance: {current_app.instance_path}")
    click.echo(f"migrations applied: {len(applied)}")


@command(cli, "backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(file: Path) -> None:
    """Write a consistent online copy of the database (SQLite backup API) and copy the
    evidence attachments it references to FILE.attachments/."""
    from surveyapp.formats.attachment_files import Blobs
    from surveyapp.services import backup

    backup.backup_database(current_app.config["DATABASE"], file)
    click.echo(f"backup written: {file}")
    copied = backup.backup_attachments(file, Blobs.of_instance(current_app.instance_path))
    if copied.files:
        click.echo(f"attachments copied: {copied.files} files ({copied.bytes} bytes) "
                   f"to {copied.folder}")


@command(cli, "export")
@click.option("--round", "round_id", type=int, metavar="ID",
              help="Round id; omit with --what answers to export every round.")
@click.option("--what", required=True,
              type=click.Choice(["answers", "scores", "systems"]))
@click.option("--format", "fmt", default="csv", show_default=True,
              type=click.Choice(["csv", "xlsx"]))
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def export_command(round_id: int | None, what: str, fmt: str, out: Path) -> None:
    """Export answers (long format), scores (one row per 所属) or systems (one row per
    information system) as CSV or XLSX."""
    from surveyapp.readmodels import export_sheets as exports
    from surveyapp.services import exports as export_audit

    sheet = exports.sheet_for(db(), what, round_id, anonymity_min(), fmt=fmt)
    # The row count is not known before the rows stream by: the bar counts them.
    with click.progressbar(sheet.rows, label=what, show_pos=True, file=sys.stderr) as rows, \
            out.open("wb") as handle:
        exports.write_file(handle, replace(sheet, rows=rows), fmt)
    # Data taken out on the server is logged as a download is (the user: the command).
    export_audit.record_download(db(), None, what, fmt, round_id, exports.EVERYTHING)
    click.echo(f"{what} ({fmt}) written: {out}")


@command(cli, "demo")
def demo_command() -> None:
    """Load a realistic demo: 所属, users, FY2020 and FY2021 rounds with answers."""
    from surveyapp.demo import loader as demo

    database = db()
    if migrations.migrations.pending(database):
        raise CommandError("データベースが初期化されていません。"
                           "先に surveyapp init を実行してください")
    with click.progressbar(length=demo.progress_steps(), label="demo",
                           file=sys.stderr) as bar:
        summary = demo.load_demo(database, Path(current_app.config["QUESTIONNAIRES_DIR"]),
                                 progress=lambda: bar.update(1),
                                 attachments_root=Path(current_app.instance_path) / "attachments")
    for line in demo.summary_lines(summary):
        click.echo(line)


@command(cli, "serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--processes", type=click.IntRange(min=1), default=None,
              help="Server processes sharing the port (default: SERVER_PROCESSES).")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="Worker threads per process (default: SERVER_THREADS).")
def serve_command(host: str, port: int, processes: int | None, threads: int | None) -> None:
    """Serve the app with waitress, in one process or several; Ctrl-C stops them all."""
    from surveyapp import serving

    app = current_app._get_current_object()
    processes = processes or app.config["SERVER_PROCESSES"]
    threads = threads or app.config["SERVER_THREADS"]
    warn_about_limits_per_process(app.config["RATELIMIT_STORAGE_URI"], processes)
    sock = serving.listen(host, port, processes=processes)
    click.echo(f"serving on http://{host}:{sock.getsockname()[1]} "
               f"(processes: {processes}, threads: {threads})")
    try:
        serving.run(app, sock, processes=processes, threads=threads)
    except serving.ServingError as error:
        raise CommandError(str(error)) from error


def warn_about_limits_per_process(storage_uri: str, processes: int) -> None:
    if processes > 1 and storage_uri.startswith("memory:"):
        click.echo(f"警告 / warning: RATELIMIT_STORAGE_URI={storage_uri} counts in each "
                   f"process: every rate limit is {processes} times as high", err=True)


@cli.group("questionnaires")
def questionnaires_group() -> None:
    """設問票の定義 / questionnaire definitions."""


@command(questionnaires_group, "check", app=False)
@click.argument("paths", metavar="PATH...", nargs=-1, required=True,
                type=click.Path(dir_okay=False, path_type=Path))
def questionnaires_check_command(paths: tuple[Path, ...]) -> None:
    """Validate definition files (all passes) against the instance's published versions
    and the files' folders; exit 1 on any error, warnings exit 0."""
    from surveyapp.services import questionnaires

    database = published_versions_database()
    try:
        problems = questionnaires.check_files(list(paths), database)
    finally:
        if database is not None:
            database.close()
    for problem in problems:
        click.echo(str(problem))
    errors = sum(problem.is_error for problem in problems)
    click.echo(f"{len(paths)} ファイル: エラー {errors} 件、警告 {len(problems) - errors} 件 "
               f"/ {errors} error(s), {len(problems) - errors} warning(s)")
    if errors:
        raise SystemExit(1)


def published_versions_database():
    """The instance's database for `questionnaires check`, without building the app.

    An instance named by `--instance` (or SURVEYAPP_INSTANCE) must have its database;
    the default `instance/` without one means checking against the files' folders only,
    and the command says so.
    """
    named = "SURVEYAPP_INSTANCE" in os.environ
    instance = instance_folder()
    database_path = Path(settings(instance)["DATABASE"])
    if database_path.is_file():
        click.echo(f"公開済みの版と比較します / comparing with the published versions: "
                   f"{database_path}")
        return store.connect(str(database_path))
    if named:
        raise CommandError(f"{database_path} がありません。先に surveyapp init を実行するか、"
                           "正しい --instance を指定してください / no database")
    click.echo("インスタンスのデータベースがないため、同じフォルダのファイルとだけ比較します"
               " / no instance database: comparing with the files' folders only")
    return None


@command(questionnaires_group, "publish")
@click.argument("path", metavar="PATH", type=click.Path(exists=True, dir_okay=False,
                                                        path_type=Path))
def questionnaires_publish_command(path: Path) -> None:
    """Validate a definition file and store it as an immutable version."""
    from surveyapp.questionnaires import DefinitionError, read_limited
    from surveyapp.services import questionnaires

    try:
        result = questionnaires.publish(db(), read_limited(path), str(path), folder=path.parent)
    except DefinitionError as error:
        for problem in error.problems:
            click.echo(str(problem), err=True)
        raise CommandError(f"{path} に誤りがあるため公開しませんでした / not published") from error
    for warning in result.warnings:
        click.echo(str(warning))
    click.echo(result.message)


@command(questionnaires_group, "list")
def questionnaires_list_command() -> None:
    """Published versions with their sha256."""
    from surveyapp.readmodels import definitions

    for row in definitions.list_versions(db()):
        click.echo(f"{row['questionnaire_id']}\t{row['version']}\tFY{row['fiscal_year']}\t"
                   f"{row['sha256']}\t{row['published_at']}\t{row['title']}")


@cli.group("departments")
def departments_group() -> None:
    """所属 / departments."""


@command(departments_group, "import")
@click.argument("csv_file", metavar="CSV",
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
def departments_import_command(csv_file: Path) -> None:
    """Upsert departments from CSV; nothing is written when any row is rejected."""
    from surveyapp.services import departments

    import_register(departments.FORMAT, csv_file)


def import_register(fmt, csv_file: Path) -> None:
    """Plan a register's CSV, print the plan by line, apply it only when nothing is
    rejected (DESIGN.md §5, §12)."""
    from surveyapp.services import csv_import

    database = db()
    plan = csv_import.plan_import(database, csv_file.read_bytes(), fmt)
    for line in csv_import.describe_plan(plan):
        click.echo(line)
    if not plan.ok:
        raise CommandError(f"{len(plan.rejected)}行を取り込めないため、何も書き込んでいません"
                           " / nothing written")
    csv_import.apply_import(database, plan, fmt)
    click.echo(f"取り込みました / imported ({plan.encoding})")


@cli.group("systems")
def systems_group() -> None:
    """情報システム台帳 / information-system register."""


@command(systems_group, "import")
@click.argument("csv_file", metavar="CSV",
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
def systems_import_command(csv_file: Path) -> None:
    """Upsert information systems from CSV; nothing is written when any row is rejected."""
    from surveyapp.services import systems

    import_register(systems.FORMAT, csv_file)


@cli.group("rounds")
def rounds_group() -> None:
    """調査回 / survey rounds."""


@command(rounds_group, "create")
@click.option("--fiscal-year", required=True, type=int)
@click.option("--questionnaire", "questionnaire_id", required=True)
@click.option("--version", required=True)
@click.option("--opens", metavar="YYYY-MM-DD")
@click.option("--closes", metavar="YYYY-MM-DD")
@click.option("--no-approval", is_flag=True,
              help="Submissions need no 所属長 approval in this round (DESIGN.md §10).")
@click.option("--attachments/--no-attachments", default=False, show_default=True,
              help="Accept evidence attachments (files) on the self-check forms.")
def rounds_create_command(fiscal_year, questionnaire_id, version, opens, closes,
                          no_approval, attachments) -> None:
    """Create a round (draft) for a published questionnaire version."""
    from surveyapp.services import rounds

    created = rounds.create_round(db(), fiscal_year, questionnaire_id, version, opens, closes,
                                  approval_required=not no_approval,
                                  attachments_allowed=attachments)
    approval = "approval required" if created.approval_required else "no approval"
    click.echo(f"round {created.id} created: FY{created.fiscal_year} "
               f"{created.questionnaire_id} {created.version} ({created.status}), {approval}"
               f"{', attachments' if created.attachments_allowed else ''}")


@command(rounds_group, "attachments")
@click.argument("round_id", metavar="ID", type=int)
@click.argument("setting", type=click.Choice(["on", "off"]))
def rounds_attachments_command(round_id: int, setting: str) -> None:
    """Accept evidence attachments on the round's forms (on), or location and date only
    (off); attachments already stored are kept."""
    from surveyapp.services import rounds

    changed = rounds.set_attachments(db(), round_id, setting == "on")
    click.echo(f"round {round_id}: attachments {'on' if changed.attachments_allowed else 'off'}")


@command(rounds_group, "open")
@click.argument("round_id", metavar="ID", type=int)
def rounds_open_command(round_id: int) -> None:
    """Open a draft round, or reopen a closed one."""
    from surveyapp.services import rounds

    click.echo(f"round {round_id}: {rounds.open_round(db(), round_id).status}")


@command(rounds_group, "close")
@click.argument("round_id", metavar="ID", type=int)
def rounds_close_command(round_id: int) -> None:
    """Close an open round."""
    from surveyapp.services import rounds

    click.echo(f"round {round_id}: {rounds.close_round(db(), round_id).status}")


@command(rounds_group, "list")
def rounds_list_command() -> None:
    """Every round, newest fiscal year first."""
    from surveyapp.readmodels import rounds as round_reads

    for item in round_reads.list_rounds(db()):
        click.echo(f"{item.id}\tFY{item.fiscal_year}\t{item.questionnaire_id}\t"
                   f"{item.version}\t{item.status}\t{item.opens_on or '-'}\t"
                   f"{item.closes_on or '-'}")


@cli.group("users")
def users_group() -> None:
    """ユーザー / user accounts."""


def read_password(from_stdin: bool, confirm: bool = False) -> str:
    """The first line of stdin (for scripts), else a hidden prompt (typed twice when
    `confirm`: a new password)."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("パスワード / password", hide_input=True,
                        confirmation_prompt="もう一度 / repeat" if confirm else False)


def read_new_password(from_stdin: bool) -> str:
    return read_password(from_stdin, confirm=True)


@command(users_group, "create")
@click.argument("login")
@click.option("--role", required=True, type=click.Choice(["admin", "auditor", "department"]))
@click.option("--department", "department_code", metavar="CODE",
              help="所属 code; required for the department role.")
@click.option("--display-name", default="", help="Name shown in the user list.")
@click.option("--email", default="", help="Email address (reminders and notices).")
@click.option("--approver", is_flag=True,
              help="May approve the own 所属's submission (department users only).")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of standard input.")
def users_create_command(login: str, role: str, department_code: str | None,
                         display_name: str, email: str, approver: bool,
                         password_stdin: bool) -> None:
    """Create a local user (passwords need at least 12 characters)."""
    from surveyapp.services import accounts

    password = read_new_password(password_stdin)
    user_id = accounts.create_user(db(), login, role, password, department_code, display_name,
                                   email=email, approver=approver)
    click.echo(f"user {user_id} created: {login.strip()} ({role})")


@command(users_group, "import")
@click.argument("csv_file", metavar="CSV",
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
def users_import_command(csv_file: Path, dry_run: bool) -> None:
    """Set email addresses and approver flags of existing local users from a CSV
    (login,email,approver); nothing is written when any row is rejected."""
    from surveyapp.services import users_import

    data = csv_file.read_bytes()
    plan = (users_import.plan_import(db(), data) if dry_run
            else users_import.apply_import(db(), data))
    for line in users_import.describe(plan):
        click.echo(line)
    if not plan.ok:
        raise CommandError(f"{len(plan.rejected)}行を取り込めないため、何も書き込んでいません"
                           " / nothing written")
    click.echo("確認のみ / dry run: nothing written" if dry_run else "取り込みました / imported")


@command(users_group, "token")
@click.argument("login")
def users_token_command(login: str) -> None:
    """Print a new API token for LOGIN. Only its hash is stored: copy it now."""
    from surveyapp.services import accounts

    click.echo(accounts.create_api_token(db(), login))


@cli.group("ldap")
def ldap_group() -> None:
    """ディレクトリ連携 / directory login (LDAP, Active Directory)."""


@command(ldap_group, "check")
@click.argument("login")
@click.option("--password-stdin", is_flag=True,
              help="Read the password from the first line of standard input.")
@click.option("--without-password", is_flag=True,
              help="Look the user up with the service account only, as single sign-on "
                   "(TRUSTED_USER_HEADER) does.")
def ldap_check_command(login: str, password_stdin: bool, without_password: bool) -> None:
    """Try the LDAP_* settings with LOGIN: print what the user would get, or why not.
    Nothing is written."""
    from surveyapp.services import directory, directory_accounts

    try:
        settings = directory.settings_from(current_app.config)
        if settings is None:
            raise CommandError("LDAP_URL が空です（ディレクトリ連携は無効） / "
                               "LDAP_URL is empty: directory login is off")
        password = None if without_password else read_password(password_stdin)
        grant = directory_accounts.check(db(), settings, login, password)
    except directory.DirectoryError as refusal:  # its line follows from `command`
        click.echo(f"詳細 / detail: {refusal.detail}", err=True)
        raise
    for line in directory_accounts.describe_grant(grant):
        click.echo(line)


@command(ldap_group, "sync")
def ldap_sync_command() -> None:
    """Check every directory account against the directory (run it daily): print each
    login as kept or withdrawn. A withdrawn account's sessions end and its API tokens
    are revoked."""
    from surveyapp.services import directory, directory_accounts

    settings = directory.settings_from(current_app.config)
    if settings is None:
        raise CommandError("LDAP_URL が空です（ディレクトリ連携は無効） / "
                           "LDAP_URL is empty: directory login is off")
    try:
        lines = directory_accounts.sync(db(), settings)
    except directory.DirectoryError as refusal:  # its line follows from `command`
        click.echo(f"詳細 / detail: {refusal.detail}", err=True)
        raise
    for line in lines:
        click.echo("\t".join(part for part in (line.login, line.result, line.reason) if part))
    withdrawn = sum(line.result == "withdrawn" for line in lines)
    click.echo(f"{len(lines)} account(s) checked, {withdrawn} withdrawn")


@cli.group("reminders")
def reminders_group() -> None:
    """督促・通知メール / reminders and notices by mail."""


@command(reminders_group, "send")
@click.option("--round", "round_id", type=int, metavar="ID",
              help="Round id; omit to send for every open round.")
@click.option("--dry-run", is_flag=True, help="List what is due; send and record nothing.")
@click.option("--today", metavar="YYYY-MM-DD",
              help="Act as if it were this day (default: today in Japan).")
def reminders_send_command(round_id: int | None, dry_run: bool, today: str | None) -> None:
    """Send the reminders and notices due today (for cron or the task scheduler): one
    line per message, then a summary; exit 1 when a message could not be sent (it is
    sent again on the next run)."""
    from surveyapp.mail import MailSettings
    from surveyapp.readmodels import deadlines
    from surveyapp.refusals import Refusal
    from surveyapp.services import reminders

    day = deadlines.parse_day(today) if today else None
    if today and day is None:
        raise CommandError(f"--today は yyyy-mm-dd の形式で指定してください: {today}")
    database = db()
    try:
        settings = MailSettings.from_config(current_app.config)
        schedule = reminders.Schedule.from_config(current_app.config)
        round_ids = [round_id] if round_id else reminders.open_round_ids(database)
        failed = 0
        for current in round_ids:
            report = reminders.send_due(database, current, settings, schedule, today=day,
                                        dry_run=dry_run,
                                        on_outcome=lambda o: click.echo(o.line()))
            click.echo(f"round {current}: {report.summary()}")
            failed += report.failed
    except Refusal as refusal:
        raise CommandError(str(refusal)) from refusal
    if failed:
        raise CommandError(f"{failed}件を送信できませんでした（次回の実行で再送します） / "
                           f"{failed} not sent, retried on the next run")


@cli.group("scorecards")
def scorecards_group() -> None:
    """スコアカード / per-department scorecards."""


@command(scorecards_group, "build")
@click.option("--round", "round_id", required=True, type=int, metavar="ID")
@click.option("--out", "out_dir", required=True, metavar="DIR",
              type=click.Path(file_okay=False, path_type=Path))
@click.option("--format", "formats", default="png,pdf", show_default=True,
              help="Comma-separated: png (radar chart), pdf (A4 scorecard).")
@click.option("--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: by CPU count and number of 所属).")
def scorecards_build_command(round_id: int, out_dir: Path, formats: str,
                             jobs: int | None) -> None:
    """Write every 所属's scorecard files and a ZIP of them into DIR."""
    from surveyapp.readmodels import scorecard_files

    chosen = scorecard_files.parse_formats(formats)
    cache = Path(current_app.instance_path) / "cache"
    plan = scorecard_files.plan_build(db(), round_id, chosen, anonymity_min())
    with click.progressbar(length=len(plan.tasks), label="scorecards", file=sys.stderr) as bar:
        result = scorecard_files.run_build(plan, out_dir, jobs=jobs, cache_dir=cache / "charts",
                                           font_dir=cache / "fonts", on_done=bar.update)
    click.echo(f"{len(result.files)} files, archive: {result.archive}")


@cli.group("verification")
def verification_group() -> None:
    """監査検証 / audit verification (DESIGN.md §9)."""


@command(verification_group, "sample")
@click.option("--round", "round_id", required=True, type=int, metavar="ID")
@click.option("--size", required=True, type=int, metavar="N",
              help="How many 所属 to draw (about half by risk, the rest at random).")
@click.option("--seed", metavar="S",
              help="Seed of the random part; the same seed on the same data draws the "
                   "same sample (default: a new seed, printed on stderr).")
def verification_sample_command(round_id: int, size: int, seed: str | None) -> None:
    """Draw 所属 into the round's sample; prints CODE<TAB>reason per drawn 所属."""
    from surveyapp.services import verification_sampling

    drawn = verification_sampling.draw_sample(db(), round_id, size, seed, None,
                                              anonymity_min())
    for pick in drawn.picks:
        click.echo(f"{pick.code}\t{pick.reason}")
    click.echo(f"seed: {drawn.seed} / added: {len(drawn.added)} "
               f"(already in the sample: {len(drawn.picks) - len(drawn.added)})", err=True)


@command(verification_group, "export")
@click.option("--round", "round_id", required=True, type=int, metavar="ID")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def verification_export_command(round_id: int, out: Path) -> None:
    """Write the workpaper (監査調書) of the round's sample as XLSX."""
    from surveyapp.services import verification_workpaper as workpaper

    out.write_bytes(workpaper.build_workpaper(db(), round_id, secret_key(), anonymity_min()))
    workpaper.record_export(db(), None, round_id)
    click.echo(f"workpaper written: {out}")


@command(verification_group, "import")
@click.argument("file", metavar="FILE.xlsx",
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--round", "round_id", required=True, type=int, metavar="ID")
@click.option("--by", "login", required=True, metavar="LOGIN",
              help="The admin or auditor the verdicts are recorded for.")
@click.option("--dry-run", is_flag=True, help="Check the file and list the changes only.")
def verification_import_command(file: Path, round_id: int, login: str,
                                dry_run: bool) -> None:
    """Record the verdicts of a filled-in workpaper, all or nothing."""
    from surveyapp.services import verification
    from surveyapp.services import verification_workpaper as workpaper

    database = db()
    user_id = verification.verifier_id(database, login)
    result = workpaper.preview(database, file.read_bytes(), file.name, secret_key(),
                               round_id, anonymity_min())
    for problem in result.problems:
        click.echo(str(problem), err=True)
    if result.problems:
        raise CommandError(f"誤りのあるセルが{len(result.problems)}件あるため、"
                           "何も記録していません / nothing recorded")
    for change in result.changes:
        click.echo(f"{change.department_code}\t{change.question_id}\t"
                   f"{change.old_verdict or '-'} -> {change.verdict}"
                   f"{'' if change.verified_value is None else ' ' + change.verified_value}")
    if dry_run:
        click.echo(f"{len(result.changes)} verdict(s) would be recorded (dry run)")
        return
    count = workpaper.apply(database, result, user_id, anonymity_min())
    click.echo(f"{count} verdict(s) recorded")


def main(argv: list[str] | None = None) -> None:
    cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="surveyapp")
