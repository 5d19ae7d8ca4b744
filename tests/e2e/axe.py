"""axe-core, fetched from the npm registry at test time and run inside the page.

The package is not vendored: `npm pack` downloads one pinned version into
tests/e2e/.cache (git-ignored) and its sha512 must equal the registry's integrity
string pinned here, so a changed tarball is refused rather than run in the browser.

The app's CSP allows only same-origin scripts, but script that WebDriver evaluates
(`execute_script`, run through the DevTools protocol) is not subject to the page's CSP:
axe's source runs as the argument of one execute_script call. The accessibility test
checks that the page really did refuse inline scripts, so this stays true.
"""

from __future__ import annotations

import base64
import hashlib
import subprocess  # nosec B404: runs npm with fixed arguments
import tarfile
from pathlib import Path

VERSION = "4.10.3"
INTEGRITY = ("sha512-Xm7bpRXnDSX2YE2YFfBk2FnF0ep6tmG7xPh8iHee8MIcrgq762Nkce856dYtJYLkuIoYZvGfT"
             "s/PbZhideTcEg==")
BLOCKING_IMPACTS = ("serious", "critical")


class Unavailable(RuntimeError):
    """axe-core could not be fetched or did not match the pinned integrity."""


def integrity_of(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def fetch_tarball(cache: Path) -> Path:
    tarball = cache / f"axe-core-{VERSION}.tgz"
    if not tarball.exists():
        cache.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(  # nosec B603 B607: npm from PATH, fixed arguments
            ["npm", "pack", f"axe-core@{VERSION}", "--pack-destination", str(cache),
             "--silent"], capture_output=True, text=True, timeout=120)
        if result.returncode != 0 or not tarball.exists():
            raise Unavailable(f"npm pack axe-core@{VERSION} failed: {result.stderr.strip()}")
    return tarball


def load_source(cache: Path) -> str:
    """The text of axe.min.js from the pinned, integrity-checked tarball."""
    tarball = fetch_tarball(cache)
    if integrity_of(tarball.read_bytes()) != INTEGRITY:
        tarball.unlink()
        raise Unavailable(f"{tarball.name} does not match the pinned integrity; removed")
    with tarfile.open(tarball) as archive:
        member = archive.extractfile("package/axe.min.js")
        if member is None:
            raise Unavailable("axe.min.js missing from the package")
        return member.read().decode("utf-8")


AXE_SECONDS = 120
RUN_AXE = """
const done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ['violations']})
  .then(results => done(results.violations.map(v => ({
      id: v.id, impact: v.impact, help: v.help,
      targets: v.nodes.slice(0, 5).map(n => n.target.join(' ')) }))))
  .catch(error => done([{id: 'axe-error', impact: 'critical', help: String(error),
                         targets: []}]));
"""


def violations(driver, source: str) -> list[dict]:
    """Every axe violation on the current page: id, impact, help, a few targets."""
    if not driver.execute_script("return typeof window.axe === 'object';"):
        driver.execute_script(source)
    # Generous: the FY2026 form and results (a block or a row per system) are large
    # pages, and a loaded machine runs axe over them several times slower.
    driver.set_script_timeout(AXE_SECONDS)
    return driver.execute_async_script(RUN_AXE)


def blocking(found: list[dict]) -> list[dict]:
    return [violation for violation in found if violation["impact"] in BLOCKING_IMPACTS]


def describe(found: list[dict]) -> str:
    return "\n".join(f"{v['impact']}: {v['id']} ({v['help']}) at {v['targets']}"
                     for v in found)


def assert_accessible(web, source: str) -> None:
    """No 'serious' or 'critical' axe violation on the page the browser shows."""
    found = blocking(violations(web.driver, source))
    assert not found, f"accessibility violations on {web.path}:\n{describe(found)}"
