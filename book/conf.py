# Sphinx configuration of the course website. Build it with `make book` (book/build.py), which executes the
# notebooks first: nothing is executed here.
project = "vaelab"
html_title = "vaelab"
author = "the vaelab authors"
copyright = "the vaelab authors, MIT licence"

extensions = ["myst_nb"]
nb_execution_mode = "off"            # book/build.py has executed them, in quick mode, with this Python
# A page has no kernel: show each widget's static figure (vaelab widgets display one with themselves), never
# the widget view, which would need widget state and JavaScript from a CDN and draws nothing offline.
nb_mime_priority_overrides = [("*", "application/vnd.jupyter.widget-view+json", None)]
nb_merge_streams = True
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
suppress_warnings = ["myst.header"]  # the notebooks open with a badge line before their '# ' title

exclude_patterns = ["**/.ipynb_checkpoints"]
html_theme = "sphinx_book_theme"
html_theme_options = {
    "repository_url": "https://github.com/vaelab/vaelab",
    "path_to_docs": "notebooks",
    "use_repository_button": True,
    "use_download_button": True,
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
}
