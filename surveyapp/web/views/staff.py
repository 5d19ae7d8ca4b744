"""Staff survey: the anonymous form behind a 所属's link or a one-time code, and the
pages where a 所属 (its own) and admins (every 所属) manage links and codes.

Anonymity: the anonymous views never read `current_user`, never write to the session
(Flask-WTF's CSRF token lives there, which identifies no one) and hand nothing about
the request to the services, so the stored response carries no user, address or
browser. Rate limits are keyed by the link's token hash, and the code-guessing
throttle by a hash of the address, held only in the limiter's storage.
"""

from __future__ import annotations

import sqlite3

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_limiter.util import get_remote_address
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, StringField
from wtforms.validators import InputRequired, Length, NumberRange

from surveyapp import audiences, question_types
from surveyapp.readmodels import rounds as round_reads
from surveyapp.refusals import Invalid, Locked, Refusal
from surveyapp.services import responses, staff
from surveyapp.web.auth import roles_required
from surveyapp.web.db import get_db
from surveyapp.web.errors import storage_message
from surveyapp.web.extensions import limiter
from surveyapp.web.forms import build_form_class, read_answers
from surveyapp.web.i18n import refusal_text, select_locale
from surveyapp.web.view_helpers import round_or_404, unit_or_404

bp = Blueprint("staff", __name__)
AUDIENCE = audiences.form_audience(audiences.STAFF_SURVEY)  # whose questions the form asks

# Failed code entries per address. Only failures count, because a whole office often
# shares one address behind the prefecture's proxy. Against 50-bit codes, 20 guesses a
# minute for a whole year hit a given code with a chance of about 1 in 100 million.
STAFF_CODE_RATE_LIMIT = "20 per minute"


# --- rate limits -----------------------------------------------------------------


def _link_key() -> str:
    return "staff-link:" + staff.hash_secret((request.view_args or {}).get("token", ""))


def _address_key() -> str:
    return "staff-code:" + staff.hash_secret(get_remote_address() or "")


link_limit = limiter.shared_limit(
    lambda: current_app.config["STAFF_RATE_LIMIT"], scope="staff-link", key_func=_link_key)
# Unknown links per address, counted like failed codes. A link has 256 bits, so this
# is not what keeps it secret; it stops one address from probing links at will (each
# guess costs a lookup and would otherwise go unnoticed).
link_guess_limit = limiter.shared_limit(
    lambda: STAFF_CODE_RATE_LIMIT,
    scope="staff-link-guess", key_func=_address_key,
    deduct_when=lambda response: response.status_code == 404)
code_limit = limiter.shared_limit(
    lambda: STAFF_CODE_RATE_LIMIT,
    scope="staff-code", key_func=_address_key, methods=["POST"],
    deduct_when=lambda response: response.status_code >= 400)


@bp.errorhandler(429)
def too_many_requests(error):
    return _anonymous(render_template("staff/too_many.html"), 429)


# --- forms -----------------------------------------------------------------------


class CodeForm(FlaskForm):
    class Meta:
        csrf = False  # the app-wide CSRFProtect checks every POST

    code = StringField(_l("回答コード"), validators=[InputRequired(), Length(max=40)],
                       render_kw={"autocomplete": "off", "autocapitalize": "characters",
                                  "spellcheck": "false", "inputmode": "text"})


class CodeBatchForm(FlaskForm):
    class Meta:
        csrf = False

    count = IntegerField(_l("発行する枚数"), default=20, validators=[
        InputRequired(), NumberRange(1, staff.MAX_CODES_PER_BATCH)])


def _staff_form(questionnaire, with_code: bool = False) -> FlaskForm:
    form_class = build_form_class(questionnaire, AUDIENCE, select_locale())
    if with_code:
        form_class = type("StaffCodeForm", (form_class,), {"staff_code": HiddenField()})
    return form_class(formdata=request.form if request.method == "POST" else None)


# --- the anonymous form behind a link ------------------------------------------------


@bp.route("/s/<token>", methods=["GET", "POST"])
@link_limit
@link_guess_limit
def answer(token: str):
    db = get_db()
    link = staff.find_link(db, token)
    if link is None:
        return _replaced_or_404(db, token)
    round_ = round_reads.get_round(db, link["round_id"])
    if round_.status != "open":
        return _closed()
    if staff.uses_codes(db, round_.id, link["department_code"]):
        return _anonymous(render_template("staff/code.html", form=CodeForm(formdata=None)))
    questionnaire = _definition(db, round_.id)
    if not questionnaire.questions_for(AUDIENCE):
        return _closed(no_questions=True)
    action = url_for(".answer", token=token)
    if request.method == "GET":
        return _form_page(_staff_form(questionnaire), questionnaire, action)

    def store_response(answers: dict) -> None:
        responses.submit_staff_response(db, round_.id, link["department_code"],
                                        questionnaire, answers)
    return _post_answers(questionnaire, action, store_response,
                         url_for(".thanks", token=token))


@bp.get("/s/<token>/thanks")
@link_limit
@link_guess_limit
def thanks(token: str):
    db = get_db()
    link = staff.find_link(db, token)
    if link is None:
        return _replaced_or_404(db, token)
    return _thanks_page(db, link["round_id"])


# --- the anonymous form behind a one-time code ------------------------------------


@bp.route("/s/code", methods=["GET", "POST"])
@code_limit
def code_entry():
    form = CodeForm(formdata=request.form if request.method == "POST" else None)
    if request.method == "GET":
        return _anonymous(render_template("staff/code.html", form=form))
    db = get_db()
    code = staff.find_code(db, form.code.data or "") if form.validate() else None
    if code is None:
        return _code_refused(form)
    if code["round_status"] != "open":
        return _closed()
    questionnaire = _definition(db, code["round_id"])
    if not questionnaire.questions_for(AUDIENCE):
        return _closed(no_questions=True)
    answer_form = _staff_form(questionnaire, with_code=True)
    answer_form.staff_code.data = staff.normalise_code(form.code.data)
    return _form_page(answer_form, questionnaire, url_for(".code_answer"))


@bp.post("/s/code/answer")
@code_limit
def code_answer():
    db = get_db()
    raw_code = request.form.get("staff_code", "")
    code = staff.find_code(db, raw_code)
    if code is None:
        return _code_refused(CodeForm(formdata=None))
    questionnaire = _definition(db, code["round_id"])

    def store_response(answers: dict) -> None:
        staff.submit_with_code(db, raw_code, questionnaire, answers,
                               responses.submit_staff_response)
    return _post_answers(questionnaire, url_for(".code_answer"), store_response,
                         url_for(".code_thanks", round_id=code["round_id"]), with_code=True)


@bp.get("/s/code/thanks/<int:round_id>")
def code_thanks(round_id: int):
    db = get_db()
    if round_reads.get_round(db, round_id) is None:
        abort(404)
    return _thanks_page(db, round_id)


# --- helpers of the anonymous pages --------------------------------------------------


def _anonymous(body, status: int = 200):
    """No referrer and no indexing (the token is in the address); like every page it
    is not stored either (web/security.py)."""
    response = make_response(body, status)
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _definition(db, round_id: int):
    return responses.definition_for(db, round_reads.get_round(db, round_id).as_dict())


def _post_answers(questionnaire, action: str, store_response, done_url: str,
                  with_code: bool = False):
    """Validate the posted answers and store them; the form comes back with every
    answer kept and a message per problem when something is missing or invalid."""
    if not questionnaire.questions_for(AUDIENCE):
        return _closed(no_questions=True)
    answers, _evidence, errors = read_answers(request.form, questionnaire, AUDIENCE)
    missing = responses.submission_errors(questionnaire, AUDIENCE, answers, {})
    errors = {**_messages(missing), **errors}  # every problem at once, not one by one
    if not errors:
        try:
            store_response(answers)
            return redirect(done_url, 303)
        except Refusal as error:
            if not getattr(error, "errors", None):
                return _refusal(error)
            errors = _messages(error.errors)
        except sqlite3.OperationalError as error:
            # Read-only, full or busy database: the answers stay on the form.
            notice = storage_message(error)
            if notice is None:
                raise
            return _form_page(_staff_form(questionnaire, with_code), questionnaire, action,
                              notice=notice, status=503)
    form = _staff_form(questionnaire, with_code)
    return _form_page(form, questionnaire, action, errors, 400)


def _messages(codes: dict[str, str]) -> dict[str, str]:
    """Error codes of `responses.submission_errors` as messages."""
    return {field: _("この設問は回答が必要です。") if code == "required"
            else _("入力内容を確認してください。") for field, code in codes.items()}


def _form_page(form, questionnaire, action: str, errors: dict | None = None,
               status: int = 200, notice: str | None = None):
    body = render_template("staff/form.html", form=form, action=action,
                           questionnaire=questionnaire, errors=errors or {}, notice=notice,
                           sections=questionnaire.sections_for(AUDIENCE),
                           lang=select_locale())
    return _anonymous(body, status)


def _thanks_page(db, round_id: int):
    questionnaire = _definition(db, round_id)
    quizzes = [q for q in questionnaire.questions_for(AUDIENCE)
               if question_types.of(q).has_correct_answers]
    return _anonymous(render_template("staff/thanks.html", quizzes=quizzes,
                                      lang=select_locale()))


def _replaced_or_404(db, token: str):
    """410 with an explanation for a link that was reissued, 404 for any other."""
    if staff.replaced_link(db, token) is None:
        abort(404)
    return _anonymous(render_template("staff/replaced.html"), 410)


def _closed(no_questions: bool = False):
    return _anonymous(render_template("staff/closed.html", no_questions=no_questions), 403)


def _code_refused(form: CodeForm):
    # Shown on the page itself, not flashed: the anonymous pages keep the session empty.
    error = _(staff.CODE_REFUSED)
    return _anonymous(render_template("staff/code.html", form=form, error=error), 400)


def _refusal(error: Refusal):
    """A closed round shows the page for a closed round (403, as when the link is
    opened); a refused code asks for the code again; anything else is an error page."""
    if isinstance(error, Locked):
        return _closed()
    if isinstance(error, Invalid):
        return _code_refused(CodeForm(formdata=None))
    raise error


# --- managing links and codes (a 所属 for itself, admins for all) ------------------


@bp.get("/staff/")
@roles_required("admin", "department")
def index():
    db = get_db()
    return render_template("staff/index.html", rounds=round_reads.list_rounds(db),
                           own=current_user.department_code)


@bp.get("/staff/<int:round_id>")
@roles_required("admin")
def overview(round_id: int):
    db = get_db()
    round_ = round_or_404(round_id)
    minimum = current_app.config["ANONYMITY_MIN_RESPONSES"]
    units = staff.overview(db, round_id, round_.fiscal_year, minimum)
    return render_template("staff/overview.html", round=round_, units=units)


@bp.get("/staff/<int:round_id>/<code>")
@roles_required("admin", "department")
def unit(round_id: int, code: str):
    db = get_db()
    round_, unit_row = round_or_404(round_id), unit_or_404(code)
    return _unit_page(db, round_, unit_row)


def _unit_page(db, round_, unit_row: dict, token: str | None = None,
               codes: list[str] | None = None):
    minimum = current_app.config["ANONYMITY_MIN_RESPONSES"]
    return render_template(
        "staff/unit.html", round=round_, unit=unit_row, token=token,
        link=staff.link_status(db, round_.id, unit_row["code"]),
        participation=staff.participation(db, round_.id, unit_row["code"], minimum),
        codes=staff.code_summary(db, round_.id, unit_row["code"]),
        batch_form=CodeBatchForm(formdata=None))


@bp.get("/staff/<int:round_id>/<code>/link/reissue")
@roles_required("admin", "department")
def confirm_reissue(round_id: int, code: str):
    """What reissuing does (the old link stops working), before it is done."""
    db = get_db()
    round_, unit_row = round_or_404(round_id), unit_or_404(code)
    link = staff.link_status(db, round_id, code)
    if link is None or round_.status == "closed":
        return redirect(url_for(".unit", round_id=round_id, code=code), 303)
    return render_template("staff/reissue.html", round=round_, unit=unit_row, link=link)


@bp.post("/staff/<int:round_id>/<code>/link")
@roles_required("admin", "department")
def issue_link(round_id: int, code: str):
    """Issue the link, or reissue it once confirmed (`replace=yes` from the
    confirmation page); the page answering this POST is the only place the new link is
    ever shown (only its hash is stored)."""
    db = get_db()
    round_, unit_row = round_or_404(round_id), unit_or_404(code)
    if staff.link_status(db, round_id, code) and request.form.get("replace") != "yes":
        return redirect(url_for(".confirm_reissue", round_id=round_id, code=code), 303)
    try:
        token = staff.issue_link(db, round_id, code, current_user.id)
    except Refusal as refused:
        flash(refusal_text(refused), "error")
        return redirect(url_for(".unit", round_id=round_id, code=code), 303)
    return _unit_page(db, round_, unit_row, token=token)


@bp.post("/staff/<int:round_id>/<code>/codes")
@roles_required("admin")
def generate_codes(round_id: int, code: str):
    db = get_db()
    round_, unit_row = round_or_404(round_id), unit_or_404(code)
    form = CodeBatchForm(formdata=request.form)
    if not form.validate():
        flash(_("発行する枚数は1から%(n)d までの数で指定してください。",
                n=staff.MAX_CODES_PER_BATCH), "error")
        return redirect(url_for(".unit", round_id=round_id, code=code), 303)
    try:
        codes = staff.generate_codes(db, round_id, code, form.count.data, current_user.id)
    except Refusal as refused:
        flash(refusal_text(refused), "error")
        return redirect(url_for(".unit", round_id=round_id, code=code), 303)
    return render_template("staff/codes_print.html", round=round_, unit=unit_row,
                           codes=[staff.format_code(c) for c in codes])
