"""Blueprints, one module per area, registered in the order of the table below.

An area's module holds its `bp` and imports no other area (what two areas share lives
in web/view_helpers.py). The areas are imported when the app is built, not when this
package is, so importing one view module never loads them all."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from surveyapp.web import api
    from surveyapp.web.views import (
        admin_users,
        approvals,
        attachments,
        audit,
        auth,
        departments,
        exports,
        followups,
        main,
        questionnaires,
        reminders,
        responses,
        results,
        rounds,
        scorecards,
        staff,
        systems,
        users_import,
        verification,
    )

    areas = (main, questionnaires, staff, api, departments, systems, rounds, auth,
             admin_users, audit, responses, attachments, exports, followups, results,
             scorecards, approvals, reminders, users_import, verification)
    for area in areas:
        app.register_blueprint(area.bp)
