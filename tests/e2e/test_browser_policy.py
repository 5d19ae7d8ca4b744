"""Without a browser the journeys are skipped locally but fail under CI: a machine that
lost Chromium must never pass CI by running no journey at all. (No browser needed.)"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import require


def test_a_missing_browser_skips_the_journeys_on_a_developer_machine(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="chromium is missing"):
        require(False, "chromium is missing")


def test_a_missing_browser_fails_the_journeys_under_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="chromium is missing"):
        require(False, "chromium is missing")


def test_a_present_browser_neither_skips_nor_fails(monkeypatch):
    monkeypatch.setenv("CI", "true")
    require(True, "never shown")
