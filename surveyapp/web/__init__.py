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
    from surveyapp.web.navigation import entries_for_current_user
    from surveyapp.web.views import register_blueprints

    app.jinja_env.globals['nav_entries'] = entries_for_current_user
    # A question's type and an audience, with everything that depends on them.
    app.jinja_env.globals["question_type"] = question_types.of
    app.jinja_env.globals["audience"] = audiences.lookup

    register_blueprints(app)
