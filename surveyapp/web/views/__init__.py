"""Blueprints, one module per area."""

from __future__ import annotations

from flask import Flask


def register_blueprints(app: Flask) -> None:
    from surveyapp.web.views import main

    app.register_blueprint(main.bp)
