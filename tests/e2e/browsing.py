"""What a person does in the browser, in the words of the journeys: go to a page, log
in, press a button by its label, take a screenshot."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

DEMO_PASSWORDS = {"admin": "demo-admin-2021", "auditor": "demo-auditor-2021",
                  "dept": "demo-dept-2021", "kacho": "demo-kacho-2021"}
# Enough for the FY2026 form: each question's answer, the evidence's note, location, date
# (three stops) and file input, in the 所属's questions and every open system block.
MAX_TABS = 2000
# The focused element if the sticky bar `arguments[0]` hides it entirely (WCAG 2.4.11),
# '' if some of it shows, null once the focus has left the bar's form (the walk is over).
FOCUS_UNDER = """
const e = document.activeElement, bar = document.querySelector(arguments[0]);
const form = bar.closest('form');
if (e === document.body || (!form.contains(e) &&
    (form.compareDocumentPosition(e) & Node.DOCUMENT_POSITION_FOLLOWING))) { return null; }
const r = e.getBoundingClientRect(), b = bar.getBoundingClientRect();
return !bar.contains(e) && r.top >= b.top - 1 && r.top < window.innerHeight ? (e.id || e.name) : '';
"""
WAIT_SECONDS = 20  # generous: CI machines run other jobs too
# Short labels: menu entries, buttons and table headings. Form labels are left out:
# a choice is often a whole Japanese sentence, which wraps anywhere by convention.
LABELS = ".site-header a, .site-header button, button, .button, th"
CLIPPED_TEXT = """
const found = [];
for (const e of document.querySelectorAll('body *')) {
  const s = getComputedStyle(e), r = e.getBoundingClientRect();
  if (s.visibility === 'hidden' || r.width <= 1 || r.height <= 1) continue;  // not shown
  if (!Array.from(e.childNodes).some(n => n.nodeType === 3 && n.textContent.trim())) continue;
  const cuts = v => v === 'hidden' || v === 'clip';
  const wide = e.scrollWidth > e.clientWidth + 1, tall = e.scrollHeight > e.clientHeight + 1;
  if ((cuts(s.overflowX) && wide) || (cuts(s.overflowY) && tall) ||
      (s.textOverflow === 'ellipsis' && wide)) {
    found.push(e.tagName.toLowerCase() + ': ' + e.textContent.trim().slice(0, 40));
  }
}
return found;
"""
BROKEN_WORDS = """
const segmenter = new Intl.Segmenter(document.documentElement.lang || 'ja',
                                     {granularity: 'word'});
const broken = [];
for (const e of document.querySelectorAll(arguments[0])) {
  const walker = document.createTreeWalker(e, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const part of segmenter.segment(node.textContent)) {
      if (!part.isWordLike || part.segment.length < 2) continue;
      const range = document.createRange();
      range.setStart(node, part.index);
      range.setEnd(node, part.index + part.segment.length);
      const tops = new Set(Array.from(range.getClientRects())
                           .filter(r => r.width > 0).map(r => Math.round(r.top)));
      if (tops.size > 1) broken.push(part.segment + ' in ' + e.textContent.trim().slice(0, 40));
    }
  }
}
return broken;
"""


def text_literal(text: str) -> str:
    """An XPath string literal for text without double quotes (all our labels)."""
    assert '"' not in text
    return f'"{text}"'


@dataclass
class Web:
    driver: WebDriver
    base_url: str
    screenshots: Path

    def go(self, path: str) -> None:
        self.driver.get(self.base_url + path)

    @property
    def path(self) -> str:
        return self.driver.current_url.removeprefix(self.base_url)

    def log_in(self, login: str) -> None:
        """Log in as a demo user, leaving whoever was logged in before."""
        self.driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
        self.go("/login")
        self.driver.find_element(By.ID, "login").send_keys(login)
        self.driver.find_element(By.ID, "password").send_keys(DEMO_PASSWORDS[login])
        self.press("ログイン")
        self.wait_for(lambda driver: "/login" not in driver.current_url)

    def log_out(self) -> None:
        page = self.find("html")
        self.press("ログアウト")
        # Wait for the next page itself: the old page's heading would pass at once.
        self.wait_for(expected_conditions.staleness_of(page))
        self.wait_for(lambda driver: self.heading() != "")

    def find(self, css: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def button(self, label: str) -> WebElement:
        """A visible button or submit input whose text is `label` (a button inside a
        closed menu, such as ログアウト under the login name, is shown first)."""
        literal = text_literal(label)
        found = self.driver.find_elements(
            By.XPATH, f"//button[normalize-space()={literal}] | //input[@type='submit' and "
                      f"@value={literal}]")
        visible = [element for element in found if element.is_displayed()]
        if not visible and found:
            self.open_menus_around(found[0])
            visible = [element for element in found if element.is_displayed()]
        assert visible, f"no visible button {label!r} on {self.path}"
        return visible[0]

    def open_menus_around(self, element: WebElement) -> None:
        """Open the menu groups (<details>) that hold `element`, outermost first, by
        clicking their summaries as a person would."""
        summaries = self.driver.execute_script(
            "const found = [];"
            "for (let d = arguments[0].closest('details'); d;"
            "     d = d.parentElement.closest('details')) {"
            "  if (!d.open) found.unshift(d.querySelector(':scope > summary')); }"
            "return found;", element)
        for summary in summaries:
            if summary.is_displayed():
                summary.click()

    def press(self, label: str) -> None:
        self.button(label).click()

    def switch_to_english(self) -> None:
        """The header's language switch, waiting until the English page offers 日本語."""
        self.press("English")
        self.wait_for(lambda driver: self.find_all("button[value=ja]"))

    def link(self, label: str) -> WebElement:
        return self.driver.find_element(
            By.XPATH, f"//a[normalize-space()={text_literal(label)}]")

    def follow(self, label: str) -> None:
        link = self.link(label)
        if not link.is_displayed():
            self.open_menus_around(link)
        link.click()

    def heading(self) -> str:
        headings = self.find_all("h1")
        return headings[0].text if headings else ""

    def wait_for(self, condition, seconds: float = WAIT_SECONDS):
        # An element read while the next page replaces it goes stale: look again.
        return WebDriverWait(self.driver, seconds, ignored_exceptions=(
            StaleElementReferenceException,)).until(condition)

    def wait_for_element(self, css: str) -> WebElement:
        """The element once the page that has it is shown (after a click that loads it)."""
        return self.wait_for(expected_conditions.presence_of_element_located(
            (By.CSS_SELECTOR, css)))

    def wait_for_heading(self, text: str) -> None:
        self.wait_for(expected_conditions.text_to_be_present_in_element(
            (By.CSS_SELECTOR, "h1"), text))

    def page_text(self) -> str:
        return self.find("body").text

    def flash(self) -> str:
        return " ".join(element.text for element in self.find_all(".flash"))

    def choose(self, name: str, value: str) -> None:
        """Click the radio button or checkbox `name` = `value` as a person would."""
        self.click(self.find(f"input[name='{name}'][value='{value}']"))

    def click(self, element: WebElement) -> None:
        """Scroll the element to the middle first, as a person does, so that a sticky
        footer (the form's buttons) is not in the way; then click it."""
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
        element.click()

    def horizontal_overflow(self) -> int:
        """How many CSS pixels the page is wider than the window (0 = no side scrolling)."""
        return self.driver.execute_script(
            "return document.documentElement.scrollWidth - window.innerWidth;")

    def focus_hidden_under(self, sticky_css: str) -> list[str]:
        """TAB from the top of the page through the form holding the sticky element;
        the focus stops a keyboard user could not see because it covered them."""
        self.driver.execute_script("window.scrollTo(0, 0); document.activeElement.blur();")
        hidden = []
        for _ in range(MAX_TABS):
            ActionChains(self.driver).send_keys(Keys.TAB).perform()
            found = self.driver.execute_script(FOCUS_UNDER, sticky_css)
            if found is None:
                return hidden
            if found:
                hidden.append(found)
        raise AssertionError(f"the focus did not leave the form within {MAX_TABS} tabs")

    def clipped_text(self) -> list[str]:
        """Text a reader cannot see whole: shown elements that cut their text off
        (overflow hidden or clip, or an ellipsis) although it is longer than their box.
        Boxes that scroll (a wide table in its own box) are not clipping."""
        return self.driver.execute_script(CLIPPED_TEXT)

    def words_broken_across_lines(self, css: str = LABELS) -> list[str]:
        """Labels (menu entries, buttons, table headings) with a word that
        starts on one line and ends on the next ("Hel/p", "職員回/答"). Words are what the
        browser's own word segmenter says they are, for Japanese too."""
        return self.driver.execute_script(BROKEN_WORDS, css)

    def misfits(self, paths, shot_prefix: str) -> dict[str, dict]:
        """What a reader of each page of `paths` (at the window's size) would trip over:
        side scrolling, cut text, broken words; a screenshot of each page that has any."""
        found = {}
        for path in paths:
            self.go(path)
            seen = {"wider by (px)": max(self.horizontal_overflow(), 0),
                    "clipped": self.clipped_text(),
                    "broken words": self.words_broken_across_lines()}
            if any(seen.values()):
                found[self.path] = seen
                self.shot(shot_prefix + path.replace("/", "-").replace("?", "-"))
        return found

    def shot(self, name: str) -> Path:
        """The whole page as tests/e2e/screenshots/<name>.png: the window is made as tall
        as the page for the picture, so sticky parts stay where a reader sees them."""
        size = self.driver.get_window_size()
        chrome_height = size["height"] - self.driver.execute_script("return window.innerHeight;")
        page_height = self.driver.execute_script(
            "return document.documentElement.scrollHeight;")
        path = self.screenshots / f"{name}.png"
        try:
            self.driver.set_window_size(size["width"], page_height + chrome_height)
            self.driver.save_screenshot(str(path))
        finally:
            self.driver.set_window_size(size["width"], size["height"])
        return path


def open_staff_page(web: Web, fiscal_year: str = "令和8年度 (2026)") -> None:
    """As the logged-in `dept` user: the 所属's staff-survey page of that year's round
    (the demo's open round by default)."""
    web.go("/staff/")
    year = text_literal(fiscal_year)
    row = web.driver.find_element(
        By.XPATH,
        f"//tr[td[normalize-space()={year}] and td[contains(., '情報セキュリティ自己点検')]]")
    row.find_element(By.LINK_TEXT, "リンクと回答数").click()
    web.wait_for_heading("職員アンケート:")


def issue_staff_link(web: Web) -> str:
    """On the staff-survey page: issue the link (a reissue through its confirmation
    page) and read it off the page, the only place it is ever shown."""
    reissue = web.find_all("a[href$='/link/reissue']")
    if reissue:
        web.click(reissue[0])
        web.wait_for_element("form[action$='/link'] input[name=replace]")
    web.click(web.find("form[action$='/link'] button"))
    link = web.wait_for(lambda driver: driver.find_elements(By.ID, "staff-link"))[0]
    return link.get_attribute("value")


def staff_responses(web: Web) -> int:
    """The 回答数 figure on the 所属's staff-survey page now showing."""
    figure = web.driver.find_element(
        By.XPATH, "//dt[normalize-space()='回答数']/following-sibling::dd[1]")
    return int(figure.text)
