"""Sphinx configuration for the skgd documentation.

Build with::

    pip install -e ".[docs]"
    python -m sphinx -W --keep-going -b html docs docs/_build/html
"""

import os
import sys
from datetime import date

import matplotlib

# Render every figure off-screen, in the build and in the gallery examples.
matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")

sys.path.insert(0, os.path.abspath(".."))

import skgd

# -- Project information -----------------------------------------------------

project = "skgd"
author = "The skgd developers"
copyright = f"{date.today().year}, {author}"
release = skgd.__version__
version = ".".join(release.split(".")[:2])

# -- General configuration ---------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

# intersphinx is left out on purpose: it fetches inventories over the network,
# which the build machine does not have. Cross-references to Python, numpy,
# scikit-learn or matplotlib objects are rendered as plain code literals, and
# do not warn as long as nitpicky stays off.
nitpicky = False

exclude_patterns = [
    "_build",
    "Thumbs.db",
    ".DS_Store",
    # sphinx-gallery's generated sources: the gallery index is in the toctree,
    # but these helper files are not part of the site.
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "auto_examples/*.codeobj.json",
    "auto_examples/*.zip",
]

autodoc_default_options = {"inherited-members": False}

# -- numpydoc ----------------------------------------------------------------

numpydoc_show_class_members = False
numpydoc_class_members_toctree = False

# -- sphinx-gallery ----------------------------------------------------------

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # Only plot_*.py files are executed ...
    "filename_pattern": r"/plot_",
    # ... and any other script in examples/ is left out of the gallery. The
    # pattern works whether sphinx-gallery matches it against the bare file
    # name (>= 0.17) or the full path (older versions).
    "ignore_pattern": r"(^|[/\\])(?!plot_)[^/\\]*\.py$",
    "matplotlib_animations": False,
    "image_scrapers": ("matplotlib",),
    "download_all_examples": False,
    "remove_config_comments": True,
    "within_subsection_order": "FileNameSortKey",
    # An example that raises fails the build (after all examples have run).
    "abort_on_example_error": False,
    "only_warn_on_example_error": False,
}

# -- HTML output -------------------------------------------------------------

html_theme = "pydata_sphinx_theme"
html_title = f"skgd {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
}
html_static_path = []
