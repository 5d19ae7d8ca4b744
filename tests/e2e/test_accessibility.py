"""axe-core on the login page, and the two facts the axe checks in the journeys rest on:
axe really reports a broken page, and it runs although the CSP forbids inline scripts.

The other main pages (department form, staff survey, results, comparison, scorecard)
are checked inside their journeys, at the moment the journey shows them."""

from __future__ import annotations

import pytest

from tests.e2e import axe

pytestmark = pytest.mark.e2e

PLANTED_FAULTS = "<img src='/static/none.png'><input type='text' name='unlabelled'>"


def test_login_page_has_no_serious_or_critical_accessibility_violations(web, axe_script):
    web.go("/login")
    axe.assert_accessible(web, axe_script)


def test_axe_reports_an_image_without_text_and_an_unlabelled_field(web, axe_script):
    web.go("/login")
    web.driver.execute_script(
        "document.querySelector('main').insertAdjacentHTML('beforeend', arguments[0]);",
        PLANTED_FAULTS)
    found = {v["id"] for v in axe.blocking(axe.violations(web.driver, axe_script))}
    assert {"image-alt", "label"} <= found


def test_csp_refuses_an_inline_script_but_webdriver_can_still_inject_axe(web, axe_script):
    web.go("/login")
    web.driver.execute_script("""
        window.refusedByCsp = false;
        document.addEventListener('securitypolicyviolation', () => { window.refusedByCsp = true; });
        const inline = document.createElement('script');
        inline.textContent = 'window.inlineRan = true;';
        document.body.appendChild(inline);""")
    web.wait_for(lambda driver: driver.execute_script("return window.refusedByCsp;"))
    assert web.driver.execute_script("return window.inlineRan === undefined;")
    axe.violations(web.driver, axe_script)
    assert web.driver.execute_script("return typeof axe.run;") == "function"
