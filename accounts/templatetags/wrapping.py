"""Long names that wrap where a reader expects: after the dots of a package id."""

import re

from django import template
from django.utils.html import format_html, format_html_join

register = template.Library()


@register.filter
def breakable(value) -> str:
    """`Contoso.Platform.Core` with a line-break opportunity (<wbr>) after each dot,
    dash and underscore: a 64-character id wraps between its parts instead of
    widening the page or breaking inside a word; copying it gives the id unchanged."""
    *parts, last = re.split(r"(?<=[.\-_])(?=.)", str(value))
    return format_html("{}{}", format_html_join("", "{}<wbr>", ((part,) for part in parts)), last)
