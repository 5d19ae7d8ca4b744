"""The English catalog covers every UI string of the current sources, and the compiled
catalog the app loads is the one in the .po file (scripts/translations.sh refreshes
both)."""

from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "surveyapp" / "translations"
PO_FILE = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
MO_FILE = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.mo"
KEYWORDS = {**DEFAULT_KEYWORDS, "lazy_gettext": None, "_l": None}
# Kana and kanji; the middle dot ・ (U+30FB) is punctuation used as a separator.
JAPANESE = re.compile(r"[\u3040-\u30fa\u30fc-\u30ff\u4e00-\u9fff]")
# Audit item names (指摘6, 意見17 ...) are identifiers written as the audit report does.
AUDIT_ITEM = re.compile(r"(指摘|意見)\d+")
# Full-width punctuation is Japanese text too: an English page must not show it.
JAPANESE_PUNCTUATION = re.compile(r"[\u3000-\u3003\u3008-\u3011\u301c\u30fb\uff01-\uff0f"
                                  r"\uff1a-\uff20]")
PLACEHOLDER = re.compile(r"%\([a-z_]+\)[sd]|%%")
# Japanese text that is deliberately not translated: the language switch names
# Japanese in Japanese, and the CSV example shows what a file really contains.
UNTRANSLATED_TEMPLATE_TEXT = {
    "base.html": ("日本語",),
    "departments/import.html": ("総務部", "総務課", "人事課", "人事給与課"),
    "systems/import.html": ("人事給与システム", "株式会社〇〇", "電子申請システム",
                            "△△株式会社", "〇〇クラウド"),
}
# Python literals of the web layer that are not UI messages: the Japanese era and
# date formats of the display filters, and a download's Japanese file name.
UNTRANSLATED_WEB_LITERALS = {"令和", "平成", "元", "年度 (", "年", "月", "日",
                             "自己点検様式_", "年度_"}
# Loader literals only the command line prints.
CLI_ONLY_LOADER_LITERALS = {"警告 (warning): "}


@functools.cache
def extracted_ids() -> frozenset:
    with open(TRANSLATIONS / "babel.cfg", encoding="utf-8") as config:
        method_map, options_map = parse_mapping_cfg(config)
    found = extract_from_dir(str(ROOT), method_map, options_map, keywords=KEYWORDS)
    return frozenset(message[2] for message in found)


@functools.cache
def english_catalog():
    with open(PO_FILE, "rb") as po:
        return read_po(po, locale="en")


def test_every_extracted_message_has_an_english_translation():
    catalog = english_catalog()
    missing = [msgid for msgid in extracted_ids()
               if catalog.get(msgid) is None or not all(strings(catalog.get(msgid)))]
    assert missing == [], "run scripts/translations.sh and translate these"


def test_english_translations_keep_the_placeholders_of_the_japanese_source():
    wrong = []
    for message in english_catalog():
        if not message.id:
            continue
        source = sorted(PLACEHOLDER.findall(" ".join(as_tuple(message.id))))
        for text in strings(message):
            if sorted(PLACEHOLDER.findall(text)) != source:
                wrong.append((message.id, text))
    assert wrong == []


def test_english_translations_are_not_left_in_japanese():
    left = [message.id for message in english_catalog()
            if message.id and any(JAPANESE.search(text) and text == message.id
                                  for text in strings(message))]
    assert left == []


def test_english_translations_use_no_japanese_punctuation():
    wrong = [(message.id, text) for message in english_catalog() if message.id
             for text in strings(message) if JAPANESE_PUNCTUATION.search(text)]
    assert wrong == []


def test_compiled_catalog_is_the_po_file_compiled():
    with open(MO_FILE, "rb") as mo:
        compiled = read_mo(mo)
    expected = {message.id: message.string for message in english_catalog()
                if message.id and message.string and not message.fuzzy}
    actual = {message.id: message.string for message in compiled if message.id}
    assert actual == expected, "run scripts/translations.sh to compile messages.mo"


def test_templates_have_no_japanese_text_outside_gettext():
    unwrapped = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        name = path.relative_to(ROOT / "templates").as_posix()
        text = AUDIT_ITEM.sub("", outside_gettext(path.read_text(encoding="utf-8")))
        for allowed in UNTRANSLATED_TEMPLATE_TEXT.get(name, ()):
            text = text.replace(allowed, "")
        unwrapped += [(name, line.strip()) for line in text.splitlines()
                      if JAPANESE.search(line)]
    assert unwrapped == []


def test_templates_write_japanese_punctuation_only_inside_gettext():
    """（…）, 、 and 。 around data come from the `punct` global (web/i18n.py), so English
    pages get ASCII punctuation."""
    found = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        name = path.relative_to(ROOT / "templates").as_posix()
        found += [(name, line.strip()) for line in
                  outside_gettext(path.read_text(encoding="utf-8")).splitlines()
                  if JAPANESE_PUNCTUATION.search(line)]
    assert found == []


def test_web_layer_japanese_literals_are_marked_for_translation():
    assert unmarked_literals("web", UNTRANSLATED_WEB_LITERALS) == []


def test_questionnaire_loader_japanese_literals_are_marked_for_translation():
    """The admin page shows every validation message in the chosen language; only the
    CLI's warning label stays Japanese (`path:line: 警告 (warning): ...`)."""
    assert unmarked_literals("questionnaires", CLI_ONLY_LOADER_LITERALS) == []


# --- helpers ---------------------------------------------------------------------


def as_tuple(value) -> tuple:
    return value if isinstance(value, tuple) else (value,)


def strings(message) -> tuple:
    return as_tuple(message.string)


def outside_gettext(template: str) -> str:
    """The template with `_('...')` calls, `{% trans %}` blocks and comments removed."""
    for pattern in (r"_\(\s*'(?:[^'\\]|\\.)*'", r'_\(\s*"(?:[^"\\]|\\.)*"',
                    r"\{%-?\s*trans\b.*?endtrans\s*-?%\}", r"\{#.*?#\}"):
        template = re.sub(pattern, "_(", template, flags=re.S)
    return template


def unmarked_literals(package: str, allowed: set[str]) -> list[tuple[str, str]]:
    """(file, literal) of the Japanese literals under surveyapp/<package> that are
    neither msgids nor `allowed`."""
    return [(path.name, literal)
            for path in sorted((ROOT / "surveyapp" / package).rglob("*.py"))
            for literal in japanese_literals(ast.parse(path.read_text(encoding="utf-8")))
            if literal not in extracted_ids() and literal not in allowed]


def japanese_literals(tree: ast.AST) -> list[str]:
    """Japanese string constants, docstrings left out; joined f-string parts count
    one by one, so an f-string message shows up as unmarked."""
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)}
    return [node.value for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docstrings and JAPANESE.search(node.value)]
