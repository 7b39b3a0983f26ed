"""Sphinx configuration of the offline docs site (`bash .ci/docs`); the Quarto site's is nbs/_quarto.yml.

The pages are nbdev's processed notebooks (see .ci/docs_build.py); myst-nb renders them as they
are stored (nothing is executed here), Furo gives the sidebar and the search.
"""
from configparser import ConfigParser
from pathlib import Path

_ini = ConfigParser(delimiters=['='])
_ini.read(Path(__file__).resolve().parents[2]/'settings.ini', encoding='utf-8')
_cfg = _ini['DEFAULT']

project = _cfg['title']
author = _cfg['author']
copyright = _cfg['copyright']
release = version = _cfg['version']
html_title = f"{project} {version}"

extensions = ['myst_nb']
exclude_patterns = ['_doctrees', '**.ipynb_checkpoints']

# myst-nb: show the notebooks' stored outputs; show_doc's markdown is MyST like the prose
nb_execution_mode = 'off'
nb_render_markdown_format = 'myst'
nb_merge_streams = True
nb_output_stderr = 'remove'        # progress bars and warnings on stderr: Quarto's nbdev hides them too
nb_mime_priority_overrides = [('html', 'image/gif', 35)]   # animations, before their PNG/text fallback
myst_enable_extensions = ['attrs_inline', 'attrs_block', 'colon_fence', 'dollarmath', 'html_image']
myst_heading_anchors = 0
suppress_warnings = ['myst.header', 'mystnb.unknown_mime_type', 'misc.highlighting_failure']

html_theme = 'furo'
html_static_path = ['_static']
html_css_files = ['site.css']
html_js_files = ['site.js']
html_copy_source = False           # no copies of the notebooks beside the pages
html_show_sourcelink = False
html_theme_options = {'navigation_with_keys': True}

# Formulas: MathJax from its CDN (Sphinx's default, as Quarto's): offline, they show as TeX source.
