"""Flask glue: extensions, security headers, error pages and blueprints."""

from __future__ import annotations

from flask import Flask

from surveyapp import audiences, question_types
from surveyapp.web import attachment_forms, auth, db, errors, extensions, i18n, security


def init_web(app: Flask) -> None:
    attachment_forms.init_app(app)  # first: it sets the request size the CSRF check reads
    db.init_app(app)
    extensions.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    auth.init_app(app)
    errors.init_app(app)
    from surveyapp.web.navigation import account_entries, groups_for_current_user
    from surveyapp.web.view_helpers import (
        finding_label,
        finding_title,
        questionnaire_label,
        round_label,
        score_basis,
    )
    from surveyapp.web.views import register_blueprints

    app.jinja_env.globals["nav_groups"] = groups_for_current_user
    app.jinja_env.globals["nav_account"] = account_entries
    # A question's type and an audience, with everything that depends on them.
    app.jinja_env.globals["question_type"] = question_types.of
    app.jinja_env.globals["audience"] = audiences.lookup
    # What people call things: a questionnaire by its title, an audit item with its title.
    app.jinja_env.filters["questionnaire_label"] = questionnaire_label
    app.jinja_env.filters["round_label"] = round_label
    app.jinja_env.filters["finding"] = finding_label
    app.jinja_env.filters["finding_title"] = finding_title
    app.jinja_env.filters["score_basis"] = score_basis

    register_blueprints(app)
