"""Sphinx settings of the course website (built by `tinyae docs build`, see tinyae/site.py)."""
project = "tinyae"
author = "the tinyae developers"
extensions = ["myst_parser", "sphinx-mathjax-offline"]  # MathJax from the package, not a CDN
myst_enable_extensions = ["dollarmath"]
myst_heading_anchors = 4            # [text](page.md#a-heading) links, as on a code host
html_theme = "furo"                 # previous/next at each page's foot, search, no CDN
html_title = "tinyae: backprop and autoencoders"
html_show_sourcelink = False
html_copy_source = False
exclude_patterns = ["downloads/**"]
