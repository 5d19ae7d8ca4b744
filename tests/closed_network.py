"""Finding references to other hosts, for the closed-network tests (DESIGN.md §11).

The tool runs on a government network without internet: a page, a PDF or a mail that
names another host (a CDN's script, a web font, an image, a link) would fail there or
leak who reads what. These helpers list such references; tests/test_closed_network.py
applies them to every page and PDF the app serves, and a mail test applies
`text_references` to each message it sends.

    html_references(html) -> ["https://cdn.example/x.js (script src)", ...]
    css_references(css), script_references(js), pdf_references(pdf_bytes),
    text_references(text)
    crawl(get, start_paths, max_pages) -> [(path, content_type, body), ...]
"""

from __future__ import annotations

import collections
import re
import zlib
from collections.abc import Callable, Iterable
from html.parser import HTMLParser
from urllib.parse import urlsplit

# Attributes whose value is a URL (or, srcset, a list of them).
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "srcset", "data", "poster",
                  "background", "cite", "longdesc", "manifest", "ping", "xlink:href"}
NETWORK_SCHEMES = ("http", "https", "ftp", "ws", "wss")
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")\s]+)|@import\s+['"]([^'"]+)""", re.IGNORECASE)
SCRIPT_URL = re.compile(r"""["'`]((?:(?:https?|wss?):)?//[^"'`\s]+)""")
TEXT_URL = re.compile(r"""\b(?:(?:https?|ftp|wss?)://|www\.)[^\s"'<>)]+""", re.IGNORECASE)


def is_external(url: str) -> bool:
    """A URL that names a host: scheme://host/... or //host/... (data:, mailto:, #x and
    paths on this site are not)."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme and parts.scheme.lower() not in NETWORK_SCHEMES:
        return False
    return bool(parts.netloc)


class ReferenceParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.links: list[str] = []
        self.in_style = False

    def handle_starttag(self, tag, attrs):
        self.in_style = tag == "style"
        for name, value in attrs:
            if value is None:
                continue
            if name in URL_ATTRIBUTES:
                urls = [part.split()[0] for part in value.split(",") if part.strip()] \
                    if name == "srcset" else [value]
                self.found += [f"{url} ({tag} {name})" for url in urls if is_external(url)]
                if name in ("href", "src"):
                    self.links.append(value)
            elif name == "style":
                self.found += [f"{url} ({tag} style)" for url in css_urls(value)]
            elif name == "content" and "url=" in value.lower():  # <meta http-equiv=refresh>
                target = value.lower().split("url=", 1)[1]
                if is_external(target):
                    self.found.append(f"{target} (meta refresh)")

    def handle_data(self, data):
        if self.in_style:
            self.found += [f"{url} (style)" for url in css_urls(data)]

    def handle_endtag(self, tag):
        if tag == "style":
            self.in_style = False


def parsed(html: str) -> ReferenceParser:
    parser = ReferenceParser()
    parser.feed(html)
    parser.close()
    return parser


def html_references(html: str) -> list[str]:
    return parsed(html).found


def css_urls(css: str) -> list[str]:
    return [url for match in CSS_URL.finditer(css) for url in match.groups()
            if url and is_external(url)]


def css_references(css: str) -> list[str]:
    return css_urls(css)


def script_references(script: str) -> list[str]:
    return [url for url in SCRIPT_URL.findall(script) if is_external(url)]


def text_references(text: str) -> list[str]:
    """Host names in plain text (a mail body): any http(s)://, ftp://, ws:// or www."""
    return TEXT_URL.findall(text)


def pdf_references(pdf: bytes) -> list[str]:
    """URI actions, launch actions and URLs in a PDF, its compressed streams included."""
    chunks = [pdf]
    for stream in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.DOTALL):
        try:
            chunks.append(zlib.decompress(stream.group(1)))
        except zlib.error:
            continue
    found = []
    for chunk in chunks:
        found += [match.decode("latin-1") for match in re.findall(
            rb"/URI\s*\([^)]*\)|/Launch\b|/GoToR\b|(?:https?|ftp)://[\x21-\x7e]+", chunk)]
    return found


# --- walking the site -------------------------------------------------------------------

# Data downloads carry no references to fetch and are slow to build: not followed.
NOT_FOLLOWED = re.compile(r"/logout|/lang$|\.(xlsx|csv|zip)$")


def path_pattern(path: str) -> str:
    """Pages that differ only in ids or codes are one pattern (visited a few times)."""
    return re.sub(r"[0-9a-f]{16,}|\d+", "N", path.split("?")[0])


def crawl(get: Callable[[str], tuple[str, bytes]], start_paths: Iterable[str],
          max_pages: int = 200, per_pattern: int = 2) -> list[tuple[str, str, bytes]]:
    """Breadth-first GETs over the same-site links (href and src) of each HTML page.
    `get(path)` returns (content type, body). Returns what was fetched."""
    queue = collections.deque(start_paths)
    seen, per = set(), collections.Counter()
    fetched = []
    while queue and len(fetched) < max_pages:
        path = queue.popleft().split("#")[0]
        if not path or path in seen or per[path_pattern(path)] >= per_pattern:
            continue
        seen.add(path)
        per[path_pattern(path)] += 1
        content_type, body = get(path)
        fetched.append((path, content_type, body))
        if content_type == "text/html":
            queue.extend(link for link in parsed(body.decode("utf-8", "replace")).links
                         if link.startswith("/") and not link.startswith("//")
                         and not NOT_FOLLOWED.search(link.split("?")[0]))
    return fetched
