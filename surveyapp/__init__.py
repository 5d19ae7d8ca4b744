"""surveyapp: the prefecture's information-security self-check and awareness survey."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask

from surveyapp import config

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: config -> db -> extensions -> blueprints.

    `test_config` may carry any setting plus `INSTANCE_PATH`; otherwise the instance
    folder is `SURVEYAPP_INSTANCE` or `instance/` beside the package.
    """
    test_config = dict(test_config or {})
    instance_path = Path(test_config.pop("INSTANCE_PATH", None)
                         or os.environ.get("SURVEYAPP_INSTANCE")
                         or ROOT / "instance").resolve()
    app = Flask(__name__, instance_path=str(instance_path),
                template_folder=str(ROOT / "templates"),
                static_folder=str(ROOT / "static"))
    configure(app, test_config)
    from surveyapp.web import init_web

    init_web(app)
    return app


def configure(app: Flask, test_config: dict) -> None:
    instance = Path(app.instance_path)
    app.config.update(config.DEFAULTS)
    app.config.from_pyfile(str(instance / "config.py"), silent=True)
    app.config.update(config.env_overrides(os.environ))
    app.config.update(test_config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = config.load_secret_key(instance)
    app.config["DATABASE"] = app.config["DATABASE"] or str(instance / "surveyapp.sqlite3")
    app.config["QUESTIONNAIRES_DIR"] = (app.config["QUESTIONNAIRES_DIR"]
                                        or str(config.default_questionnaires_dir()))
