"""A package's README, from the pusher's markdown to HTML safe to put in a page.

markdown-it-py renders CommonMark (and tables, as nuget.org's READMEs use them);
raw HTML in the markdown is escaped by the renderer, and nh3 then keeps only an
allowlist of tags and attributes from what is left. Links keep only http(s) and
mailto addresses and get rel="nofollow noopener"; images only from the hosts the
administrator allows (GALLEY_README_IMAGE_HOSTS, none by default), so a README
cannot make its readers' browsers call a tracker.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import nh3
from django.conf import settings
from markdown_it import MarkdownIt

TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl",
    "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol",
    "p", "pre", "s", "strong", "sub", "summary", "sup", "table", "tbody", "td", "th",
    "thead", "tr", "ul",
}  # fmt: skip
ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "code": {"class"},  # "language-cs" from a fenced block
    "ol": {"start"},
}


def _markdown() -> MarkdownIt:
    # html=False: raw HTML in the README is shown as text, never as markup.
    return MarkdownIt("commonmark", {"html": False}).enable("table").enable("strikethrough")


def _allowed(tag: str, attribute: str, value: str) -> str | None:
    """nh3's attribute filter: web links only; images only from allowed hosts."""
    if attribute == "href":
        scheme = urlsplit(value.strip()).scheme.lower()
        if value.startswith("#") or scheme in ("http", "https", "mailto"):
            return value
        return None
    if attribute == "src":
        parts = urlsplit(value.strip())
        hosts = settings.GALLEY_README_IMAGE_HOSTS
        if parts.scheme.lower() == "https" and (parts.hostname or "") in hosts:
            return value
        return None
    if attribute == "style":
        return (
            value if value in ("text-align:left", "text-align:center", "text-align:right") else None
        )
    return value


def sanitize(html: str) -> str:
    """Only the allowlisted tags and attributes; unsafe links and images dropped."""
    return nh3.clean(
        html,
        tags=TAGS,
        attributes=ATTRIBUTES,
        attribute_filter=_allowed,
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener",
        strip_comments=True,
    )


def render(markdown: str) -> str:
    """The README's HTML, safe to mark safe."""
    return sanitize(_markdown().render(markdown)) if markdown.strip() else ""
