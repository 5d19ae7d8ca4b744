"""Admin pages for questionnaire definitions: published versions, a read-only view of
one version as the form would show it, and publishing by upload.

Auditors may read everything here; only admins publish.
"""

from __future__ import annotations

from pathlib import PurePath

from flask import Blueprint, Response, abort, render_template
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import SubmitField

from surveyapp import audiences, question_types
from surveyapp.questionnaires import MAX_BYTES, DefinitionError
from surveyapp.readmodels import definitions
from surveyapp.refusals import Conflict
from surveyapp.services import questionnaires as questionnaire_service
from surveyapp.web.auth import roles_required
from surveyapp.web.db import get_db
from surveyapp.web.errors import refusal_status
from surveyapp.web.i18n import refusal_text, select_locale

bp = Blueprint("questionnaires", __name__, url_prefix="/questionnaires")

EVIDENCE_LABELS = {"none": _l("なし"), "optional": _l("任意"), "required": _l("必須")}
RELATION_LABELS = {"same": _l("同一"), "reworded": _l("表現変更（比較可）"),
                   "split": _l("分割"), "merged": _l("統合"), "approximate": _l("近似")}
METHOD_LABELS = {"weighted_mean": _l("全設問の加重平均"),
                 "section_mean": _l("セクション得点の加重平均")}


class PublishForm(FlaskForm):
    definition = FileField(_l("定義ファイル (YAML)"), validators=[
        FileRequired(_l("ファイルを選んでください。")),
        FileAllowed(["yaml", "yml"], _l("拡張子が .yaml または .yml のファイルを選んでください。")),
    ])
    submit = SubmitField(_l("検証して公開する"))


def labels() -> dict:
    """Names of the definition's coded values in the chosen language."""
    types = {name: _(kind.label) for name, kind in question_types.REGISTRY.items()}
    audience_names = {name: _(audience.label) for name, audience in audiences.REGISTRY.items()}
    return {"types": types, "audiences": audience_names, "evidence": EVIDENCE_LABELS,
            "relations": RELATION_LABELS, "methods": METHOD_LABELS}


@bp.get("/")
@roles_required("admin", "auditor")
def index():
    versions = definitions.list_versions(get_db())
    return render_template("questionnaires/index.html", versions=versions,
                           titles=titles_in_language(versions))


def titles_in_language(versions: list[dict]) -> dict[int, str]:
    """{version row id: title in the chosen language} (the stored title is Japanese)."""
    lang = select_locale()
    return {row["id"]: definitions.get_definition(
        get_db(), row["questionnaire_id"], row["version"]).title.get(lang) for row in versions}


@bp.get("/<questionnaire_id>/<version>")
@roles_required("admin", "auditor")
def view(questionnaire_id: str, version: str):
    db = get_db()
    row = definitions.get_version_row(db, questionnaire_id, version)
    if row is None:
        abort(404)
    return render_template(
        "questionnaires/view.html", row=row, labels=labels(),
        questionnaire=definitions.get_definition(db, questionnaire_id, version))


@bp.get("/<questionnaire_id>/<version>/source")
@roles_required("admin", "auditor")
def source(questionnaire_id: str, version: str):
    data = definitions.get_source(get_db(), questionnaire_id, version)
    filename = f"{questionnaire_id}-{version}.yaml"
    return Response(data, mimetype="text/plain; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})


@bp.route("/publish", methods=["GET", "POST"])
@roles_required("admin")
def publish():
    form = PublishForm()
    if not form.validate_on_submit():
        status = 400 if form.is_submitted() else 200
        return render_template("questionnaires/publish.html", form=form), status
    upload = form.definition.data
    name = PurePath(upload.filename or "upload.yaml").name[:100]
    # Large uploads are spooled to a temporary file; close it as soon as it is read.
    with upload.stream as stream:
        data = stream.read(MAX_BYTES + 1)
    return publish_upload(form, data, name)


def publish_upload(form: PublishForm, data: bytes, name: str):
    try:
        result = questionnaire_service.publish(get_db(), data, name, user_id=current_user.id)
    except DefinitionError as error:
        return render_template("questionnaires/publish.html", form=form, filename=name,
                               problems=error.problems), 422
    except Conflict as error:
        return render_template("questionnaires/publish.html", form=form, filename=name,
                               refused=refusal_text(error)), refusal_status(error)
    return render_template("questionnaires/published.html", result=result, filename=name,
                           heading=_("公開しました") if result.status == "published"
                           else _("変更はありません"))
