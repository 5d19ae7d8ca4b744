"""The Flask extensions, created once and bound in `init_app`."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf import CSRFProtect

from surveyapp.web import ratelimits

csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, strategy="moving-window",
                  default_limits=[])


def init_app(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", False)
    if not app.config.get("RATELIMIT_STORAGE_URI"):  # shared by the server processes
        app.config["RATELIMIT_STORAGE_URI"] = ratelimits.storage_uri(
            Path(app.instance_path) / ratelimits.FILE_NAME)
    csrf.init_app(app)
    limiter.init_app(app)
