"""Tests of tools/check_offline_html.py on small synthetic sites."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

CHECKER = Path(__file__).resolve().parents[1] / "tools" / "check_offline_html.py"


def _load_checker():
    spec = importlib.util.spec_from_file_location("check_offline_html", CHECKER)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


checker = _load_checker()

CLEAN = """<!DOCTYPE html>
<html><head>
<link rel="stylesheet" href="_static/styles/theme.css">
<link rel="canonical" href="https://example.org/book/intro.html">
<script src="_static/mathjax/tex-mml-chtml.js"></script>
<style>@import url("_static/local.css"); body { background: url(img/bg.png); }</style>
</head><body>
<a href="https://doi.org/10.1088/0305-4470/21/1/030">Gardner 1988</a>
<img src="_images/figure.png" alt="a local figure">
</body></html>
"""

CDN_SCRIPT = """<html><head>
<script src="_static/local.js"></script>
<script src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-mml-chtml.js"></script>
</head><body></body></html>
"""

CDN_STYLESHEET = """<html><head>
<link rel="stylesheet" href="//fonts.googleapis.com/css?family=Lato">
</head><body></body></html>
"""


def _site(tmp_path: Path, pages: dict[str, str]) -> Path:
    for name, text in pages.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_clean_site_passes(tmp_path, capsys):
    root = _site(tmp_path, {"index.html": CLEAN, "sub/page.html": CLEAN})
    assert checker.main([str(root)]) == 0
    assert "2 HTML files" in capsys.readouterr().out


def test_cdn_script_is_reported(tmp_path, capsys):
    root = _site(tmp_path, {"index.html": CLEAN, "gardner.html": CDN_SCRIPT})
    assert checker.main([str(root)]) == 1
    out = capsys.readouterr().out
    assert "gardner.html:3:" in out
    assert "cdn.jsdelivr.net" in out
    assert "_static/local.js" not in out


def test_cdn_stylesheet_is_reported(tmp_path, capsys):
    root = _site(tmp_path, {"intro.html": CDN_STYLESHEET})
    assert checker.main([str(root)]) == 1
    out = capsys.readouterr().out
    assert "intro.html:2:" in out
    assert "//fonts.googleapis.com" in out


@pytest.mark.parametrize(
    "snippet",
    [
        '<style>\n@import url("https://fonts.googleapis.com/css2?family=Inter");\n</style>',
        "<style>body { background: url(http://example.org/bg.png); }</style>",
        "<div style=\"background-image: url('https://example.org/a.png')\"></div>",
        '<link rel="preload" as="font" href="https://example.org/f.woff2">',
        '<img src="https://example.org/plot.png">',
        '<iframe src="//www.youtube.com/embed/x"></iframe>',
    ],
)
def test_other_remote_loads_are_reported(tmp_path, snippet):
    root = _site(tmp_path, {"page.html": f"<html><body>{snippet}</body></html>"})
    _, offenders = checker.check_tree(root)
    assert len(offenders) == 1


def test_remote_import_in_css_file_is_reported(tmp_path):
    root = _site(
        tmp_path,
        {
            "index.html": CLEAN,
            "_static/theme.css": "/* see https://example.org */\n"
            "@import url('https://fonts.googleapis.com/css?family=Lato');\n",
        },
    )
    _, offenders = checker.check_tree(root)
    assert [(o.path.name, o.line) for o in offenders] == [("theme.css", 2)]


def test_empty_or_missing_directory_fails(tmp_path):
    assert checker.main([str(tmp_path)]) == 2
    assert checker.main([str(tmp_path / "missing")]) == 2


@pytest.mark.parametrize(
    ("url", "remote"),
    [
        ("https://a.org/x.js", True),
        ("HTTP://a.org/x.js", True),
        ("//a.org/x.js", True),
        ("_static/x.js", False),
        ("../_static/x.js", False),
        ("/abs/x.js", False),
        ("data:image/png;base64,AAAA", False),
    ],
)
def test_is_remote(url, remote):
    assert checker.is_remote(url) is remote
