"""Evidence attachments (DESIGN.md §13): downloading one, and the admin's storage page.

Access follows the answer: the 所属 that answered, admins and auditors; anyone else
gets 404, as for the answer itself. A file is always sent as a download
(`Content-Disposition: attachment`, `X-Content-Type-Options: nosniff`, and a sandbox
CSP should a browser open it anyway), never shown inline. Removed attachments stay
downloadable: the answer history lists them.
"""

from __future__ import annotations

import io

from flask import Blueprint, abort, render_template, send_file
from flask_login import current_user

from surveyapp import audiences
from surveyapp.readmodels import answers as answer_reads
from surveyapp.readmodels.attachment_storage import storage
from surveyapp.refusals import NotFound
from surveyapp.services import attachments as attachment_service
from surveyapp.web.attachment_forms import blobs, file_limit, request_limit
from surveyapp.web.auth import require_department, roles_required
from surveyapp.web.db import get_db
from surveyapp.web.security import CONTENT_SECURITY_POLICY

bp = Blueprint("attachments", __name__)
MAX_ID = 2**63 - 1
# The app's strict policy, sandboxed: whatever a browser makes of the file, it runs
# nothing.
DOWNLOAD_POLICY = CONTENT_SECURITY_POLICY + "; sandbox"


@bp.get(f"/attachments/<int(max={MAX_ID}):attachment_id>")
@roles_required("admin", "auditor", "department")
def download(attachment_id: int):
    try:
        found = answer_reads.download(get_db(), attachment_id)
    except NotFound:
        abort(404)
    return send_attachment(found)


@bp.get("/attachments/sha256/<sha256>")
@roles_required("admin", "auditor")
def download_by_file(sha256: str):
    """The file an export's `attachments` column names (admins and auditors see every
    answer, so every file)."""
    try:
        found = answer_reads.download_by_file(get_db(), sha256)
    except NotFound:
        abort(404)
    return send_attachment(found)


def send_attachment(found: answer_reads.Download):
    if audiences.lookup(found.audience).anonymous:
        abort(404)  # never on an anonymous answer
    require_department(found.department_code)
    file = found.attachment
    path = blobs().path(file.sha256)
    if not path.is_file():
        abort(404)
    attachment_service.record_download(get_db(), current_user.id, file.id, file.sha256,
                                       found.department_code)
    # Read whole (at most ATTACHMENT_MAX_BYTES): no file handle outlives the request.
    response = send_file(io.BytesIO(path.read_bytes()), mimetype=file.media_type,
                         as_attachment=True, download_name=file.filename,
                         conditional=False, etag=False, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = DOWNLOAD_POLICY
    return response


@bp.get("/admin/storage")
@roles_required("admin")
def storage_page():
    return render_template("admin/storage.html", storage=storage(get_db(), blobs()),
                           file_limit=file_limit(), request_limit=request_limit())
