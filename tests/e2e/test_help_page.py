"""The help page in a real browser: reachable from the header without logging in, and
free of serious accessibility violations in both languages."""

from __future__ import annotations

import pytest

from tests.e2e import axe

pytestmark = pytest.mark.e2e


def test_help_is_reached_from_the_header_without_logging_in(web):
    web.go("/login")
    web.follow("ヘルプ")
    assert web.path == "/help"


@pytest.mark.parametrize("language", ["日本語", "English"])
def test_help_page_has_no_serious_or_critical_accessibility_violations(web, axe_script,
                                                                       language):
    web.go("/help")
    if language == "English":
        web.switch_to_english()
    axe.assert_accessible(web, axe_script)
