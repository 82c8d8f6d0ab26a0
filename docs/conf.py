"""Sphinx configuration for the gilbench site: the GIL guide, the reference, published runs.

Built with warnings as errors (``tox -e docs``), so a broken link, a page outside
every toctree or a chart the guide names but no published run has fails the build.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "_ext"))
# The installed gilbench wins; the source tree is the fallback for a bare checkout.
sys.path.append(str(HERE.parent))

project = "gilbench"
author = "the gilbench authors"
copyright = "the gilbench authors"

extensions = ["myst_parser", "gilbench_docs"]
source_suffix = {".md": "markdown"}
exclude_patterns = ["_build", "results/.*"]
nitpicky = True

myst_heading_anchors = 3
myst_enable_extensions = ["deflist"]

html_theme = "furo"
html_title = "gilbench"
html_show_sourcelink = False
html_copy_source = False
