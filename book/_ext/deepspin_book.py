"""Sphinx extension of the deepspin book: serve the vendored MathJax without a network.

Jupyter Book 1 adds a ``<script>`` tag for every ``.js`` file it finds under ``_static/``, so a
MathJax copy there would put about a hundred scripts on every page. MathJax lives in
``_vendor/mathjax`` instead (filled by ``make mathjax``); on ``config-inited`` this extension
appends ``_vendor`` to ``html_static_path``, which Sphinx copies into ``_build/html/_static``
without adding script tags, and ``mathjax_path: mathjax/tex-mml-chtml.js`` in ``_config.yml``
loads the one entry point from there.
"""

from __future__ import annotations

from pathlib import Path

from sphinx.application import Sphinx
from sphinx.config import Config
from sphinx.util import logging

__all__ = ["VENDOR_DIR", "setup"]

VENDOR_DIR = "_vendor"
logger = logging.getLogger(__name__)


def _add_vendor_static_path(app: Sphinx, config: Config) -> None:
    vendor = Path(app.srcdir, VENDOR_DIR).resolve()
    mathjax_path = str(config.mathjax_path)
    if "://" in mathjax_path or mathjax_path.startswith("//"):
        logger.warning(
            "mathjax_path %r loads MathJax from the network; use mathjax/tex-mml-chtml.js",
            mathjax_path,
            type="deepspin",
        )
        return
    entry = vendor / mathjax_path
    if not entry.is_file():
        logger.warning(
            "MathJax is not vendored (%s is missing): run `make mathjax`",
            entry,
            type="deepspin",
        )
        return
    static = list(config.html_static_path)
    if str(vendor) not in static:
        static.append(str(vendor))
    config.html_static_path = static


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _add_vendor_static_path)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
