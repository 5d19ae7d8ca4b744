"""Blueprints, one module per area."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from surveyapp.web.views import main

    app.register_blueprint(main.bp)

    from surveyapp.web.views import questionnaires

    app.register_blueprint(questionnaires.bp)

    from surveyapp.web.views import staff

    app.register_blueprint(staff.bp)

    from surveyapp.web import api

    app.register_blueprint(api.bp)

    from surveyapp.web.views import departments, rounds

    app.register_blueprint(departments.bp)
    app.register_blueprint(rounds.bp)

    from surveyapp.web.views import admin_users, audit, auth

    app.register_blueprint(auth.bp)
    app.register_blueprint(admin_users.bp)
    app.register_blueprint(audit.bp)

    from surveyapp.web.views import responses

    app.register_blueprint(responses.bp)

    from surveyapp.web.views import exports

    app.register_blueprint(exports.bp)

    from surveyapp.web.views import followups

    app.register_blueprint(followups.bp)

    from surveyapp.web.views import results

    app.register_blueprint(results.bp)

    from surveyapp.web.views import scorecards

    app.register_blueprint(scorecards.bp)

    from surveyapp.web.views import verification

    app.register_blueprint(verification.bp)
