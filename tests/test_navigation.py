"""The main menu (surveyapp/web/navigation.py, templates/base.html): a few groups with
the pages inside, each a disclosure that works without script."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from surveyapp.web import navigation


@pytest.fixture
def app(tmp_path):
    from surveyapp import create_app, migrations, store
    from surveyapp.services import accounts

    app = create_app({"INSTANCE_PATH": str(tmp_path), "TESTING": True,
                      "WTF_CSRF_ENABLED": False})
    database = store.connect(app.config["DATABASE"])
    migrations.apply(database)
    accounts.create_user(database, "kikaku", "admin", "correct horse battery")
    database.close()
    return app


def menu_html(app, login: str | None) -> str:
    client = app.test_client()
    if login:
        client.post("/login", data={"login": login, "password": "correct horse battery"})
    html = client.get("/help").get_data(as_text=True)
    return html[html.index('<nav class="site-nav"'):html.index("</nav>")]


def test_menu_has_at_most_five_groups_with_every_page_inside():
    assert [group.key for group in navigation.NAV] == ["answer", "results", "followups",
                                                        "admin"]
    assert all(group.entries for group in navigation.NAV)


def test_every_menu_entry_names_a_registered_page(app):
    endpoints = {entry.endpoint for group in navigation.NAV for entry in group.entries}
    assert endpoints <= set(app.view_functions)


def test_each_group_is_a_disclosure_with_its_entries_inside(app):
    html = menu_html(app, "kikaku")
    groups = re.findall(r"<details>\s*<summary[^>]*>(.*?)</summary>", html)
    assert groups == ["回答", "結果", "フォローアップ", "管理", '<span class="who">kikaku</span>']
    assert html.count("<a href=") == 19  # 17 pages, help, and the password change


def test_the_whole_menu_is_one_menu_button_on_a_phone(app):
    html = menu_html(app, "kikaku")
    assert re.search(r'<details class="nav-menu">\s*<summary class="nav-menu-button">メニュー',
                     html)


def test_logged_out_visitors_see_help_and_login_only(app):
    html = menu_html(app, None)
    assert re.findall(r">([^<>]+)</a>", html) == ["ヘルプ", "ログイン"]
    assert "<summary>" not in html.replace('<summary class="nav-menu-button">', "")


def test_menu_uses_no_inline_script_or_handler():
    base = (Path(__file__).resolve().parent.parent / "templates" / "base.html").read_text()
    assert re.search(r"<script(?![^>]*\bsrc=)", base) is None
    assert re.search(r"\son[a-z]+=", base) is None
