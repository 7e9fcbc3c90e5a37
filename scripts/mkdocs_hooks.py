"""MkDocs hook (``hooks:`` in mkdocs.yml): the site's home page is README.md, so the front door is written once.

``docs/index.md`` is a stub. At build time its text is replaced by the README's, with the README's links into
``docs/`` made relative to the docs folder (``docs/go.md`` -> ``go.md``, ``docs/img/x.gif`` -> ``img/x.gif``),
so ``mkdocs build --strict`` checks them like any other page's.
"""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_as_home() -> str:
    """The README's text with its ``docs/...`` links and image sources relative to ``docs/``."""
    text = README.read_text(encoding="utf-8")
    return re.sub(r'(\]\(|src=")docs/', r"\1", text)


def on_page_markdown(markdown: str, page, config, files) -> str:
    if page.file.src_uri == "index.md":
        return readme_as_home()
    return markdown
