"""Check that a built HTML site loads nothing from the network.

Usage: ``python tools/check_offline_html.py DIR``

Scans every ``.html`` file under ``DIR`` for resources the browser would fetch from another
host: ``<script src>``, ``<link href>`` with a loading ``rel`` (stylesheet, preload, icon, ...),
the ``src`` of images, frames and media, and ``@import`` or ``url(...)`` in inline ``<style>``
blocks and ``style`` attributes; and every ``.css`` file for ``@import`` and ``url(...)``. A
resource is remote when its URL starts with ``http://``, ``https://`` or ``//``
(protocol-relative). Links that are only followed when clicked (``<a href>``) are not loads and
are not reported.

Prints one line per offender, ``FILE:LINE: <tag attr=URL>``, and exits 1 if there is any, 2 if
``DIR`` holds no HTML file, 0 otherwise. The Makefile runs it on ``_build/html`` after
``make book``.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

__all__ = ["Offender", "check_css", "check_html", "check_tree", "is_remote", "main"]

REMOTE = re.compile(r"^\s*(?:https?:)?//", re.IGNORECASE)
CSS_URL = re.compile(
    r"""@import\s+(?:url\(\s*)?["']?([^"')\s;]+)|url\(\s*["']?([^"')\s]+)""", re.IGNORECASE
)
# <link rel=...> values that make the browser fetch or connect to the href.
LOADING_RELS = {
    "stylesheet",
    "preload",
    "modulepreload",
    "prefetch",
    "preconnect",
    "dns-prefetch",
    "prerender",
    "icon",
    "apple-touch-icon",
    "mask-icon",
    "manifest",
}
# Tags whose src (or data, poster) attribute is fetched when the page is shown.
SRC_TAGS = {"script", "img", "iframe", "embed", "source", "audio", "video", "track", "input"}


def is_remote(url: str) -> bool:
    """True for ``http://``, ``https://`` and protocol-relative ``//`` URLs."""
    return bool(REMOTE.match(url))


@dataclass(frozen=True)
class Offender:
    """One remote resource: the file, the line, and what loads it."""

    path: Path
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def _css_urls(text: str) -> list[str]:
    return [m.group(1) or m.group(2) for m in CSS_URL.finditer(text)]


class _Scanner(HTMLParser):
    def __init__(self, path: Path) -> None:
        super().__init__(convert_charrefs=True)
        self.path = path
        self.offenders: list[Offender] = []
        self._in_style = False
        self._style_line = 0

    def _report(self, what: str, line: int | None = None) -> None:
        self.offenders.append(Offender(self.path, line or self.getpos()[0], what))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "link":
            rels = set(values.get("rel", "").lower().split())
            href = values.get("href", "")
            if rels & LOADING_RELS and is_remote(href):
                self._report(f'<link rel="{values["rel"]}" href="{href}">')
        if tag in SRC_TAGS:
            for attr in ("src", "poster"):
                url = values.get(attr, "")
                if is_remote(url):
                    self._report(f'<{tag} {attr}="{url}">')
            for candidate in values.get("srcset", "").split(","):
                url = candidate.strip().split(" ")[0] if candidate.strip() else ""
                if is_remote(url):
                    self._report(f'<{tag} srcset="{url}">')
        if tag == "object" and is_remote(values.get("data", "")):
            self._report(f'<object data="{values["data"]}">')
        for url in _css_urls(values.get("style", "")):
            if is_remote(url):
                self._report(f'<{tag} style="... url({url}) ...">')
        if tag == "style":
            self._in_style = True
            self._style_line = self.getpos()[0]

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag == "style":
            self._in_style = False

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if not self._in_style:
            return
        line = self.getpos()[0]
        for match in CSS_URL.finditer(data):
            url = match.group(1) or match.group(2)
            if is_remote(url):
                self._report(
                    f"<style> ... {match.group(0)} ...", line + data.count("\n", 0, match.start())
                )


def check_html(path: Path) -> list[Offender]:
    """Remote resources loaded by one HTML file."""
    scanner = _Scanner(path)
    scanner.feed(path.read_text(encoding="utf-8", errors="replace"))
    scanner.close()
    return scanner.offenders


def check_css(path: Path) -> list[Offender]:
    """Remote resources loaded by one CSS file (``@import`` and ``url(...)``)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    # Comments may mention URLs without loading them.
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.DOTALL)
    offenders = []
    for match in CSS_URL.finditer(text):
        url = match.group(1) or match.group(2)
        if is_remote(url):
            line = text.count("\n", 0, match.start()) + 1
            offenders.append(Offender(path, line, match.group(0)))
    return offenders


def check_tree(root: Path) -> tuple[int, list[Offender]]:
    """Scan every ``.html`` and ``.css`` file under ``root``; return (HTML files, offenders)."""
    html_files = sorted(root.rglob("*.html"))
    offenders: list[Offender] = []
    for path in html_files:
        offenders.extend(check_html(path))
    for path in sorted(root.rglob("*.css")):
        offenders.extend(check_css(path))
    return len(html_files), offenders


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python tools/check_offline_html.py DIR", file=sys.stderr)
        return 2
    root = Path(args[0])
    if not root.is_dir():
        print(f"{root}: not a directory", file=sys.stderr)
        return 2
    n_html, offenders = check_tree(root)
    if n_html == 0:
        print(f"{root}: no HTML file to check", file=sys.stderr)
        return 2
    for offender in offenders:
        print(offender)
    if offenders:
        print(f"{len(offenders)} remote resource(s) in {root}: the site would need a network")
        return 1
    print(f"offline check: {n_html} HTML files in {root} load nothing from the network")
    return 0


if __name__ == "__main__":
    sys.exit(main())
