"""MkDocs hook: render the pages' math as MathML when the site is built, so no script or font is fetched.

``pymdownx.arithmatex`` (generic mode) finds the math in the Markdown — ``\\( … \\)`` inline, ``$$ … $$``
or ``\\[ … \\]`` as a block, never inside code — and wraps it in ``<span|div class="arithmatex">``; this
hook replaces each wrapped formula by the MathML that ``latex2mathml`` makes of it. Browsers render
MathML natively, so the built site needs neither MathJax nor KaTeX.
"""

from __future__ import annotations

import html
import re
from typing import Any

from latex2mathml.converter import convert

INLINE = re.compile(r'<span class="arithmatex">\\\((.+?)\\\)</span>', re.DOTALL)
BLOCK = re.compile(r'<div class="arithmatex">\\\[(.+?)\\\]</div>', re.DOTALL)


def to_mathml(match: re.Match[str], display: str) -> str:
    """The MathML of one formula found by arithmatex (its TeX arrives HTML-escaped)."""
    return convert(html.unescape(match.group(1)).strip(), display=display)


def on_page_content(content: str, **kwargs: Any) -> str:
    """Replace every arithmatex formula of a rendered page by MathML."""
    content = BLOCK.sub(lambda m: f'<div class="math">{to_mathml(m, "block")}</div>', content)
    return INLINE.sub(lambda m: to_mathml(m, "inline"), content)
