"""surveyapp: the prefecture's information-security self-check and awareness survey."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Config, Flask

from surveyapp import clock, config

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app: config -> db -> extensions -> blueprints.

    `test_config` may carry any setting plus `INSTANCE_PATH`; otherwise the instance
    folder is `SURVEYAPP_INSTANCE` or `instance/` beside the package.
    """
    test_config = dict(test_config or {})
    instance_path = instance_folder(test_config.pop("INSTANCE_PATH", None))
    app = Flask(__name__, instance_path=str(instance_path),
                template_folder=str(ROOT / "templates"),
                static_folder=str(ROOT / "static"))
    configure(app, test_config)
    from surveyapp.web import init_web

    init_web(app)
    return app


def instance_folder(given: str | Path | None = None) -> Path:
    """`given`, else `SURVEYAPP_INSTANCE` (what `--instance` sets), else `instance/`."""
    return Path(given or os.environ.get("SURVEYAPP_INSTANCE") or ROOT / "instance").resolve()


def configure(app: Flask, test_config: dict) -> None:
    app.config.update(settings(Path(app.instance_path), test_config))
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = config.load_secret_key(Path(app.instance_path))


def settings(instance: Path, test_config: dict | None = None) -> Config:
    """Every setting of the instance (config.py precedence), without building the app:
    for commands that only need a path, such as `questionnaires check`."""
    found = Config(str(instance), config.DEFAULTS)
    found.from_pyfile(str(instance / "config.py"), silent=True)
    found.update(config.env_overrides(os.environ))
    found.update(test_config or {})
    found["DATABASE"] = found["DATABASE"] or str(instance / "surveyapp.sqlite3")
    found["QUESTIONNAIRES_DIR"] = (found["QUESTIONNAIRES_DIR"]
                                   or str(config.default_questionnaires_dir()))
    clock.use_zone(found["TIMEZONE"])  # one instance per process: its zone for every view
    return found
