"""Long names that wrap where a reader expects: after the dots of a package id, and
between the words of a name written in camel case."""

import re

from django import template
from django.utils.html import format_html, format_html_join

register = template.Library()

# After a dot, dash or underscore; between a lower-case letter and a capital.
_BREAKS = re.compile(r"(?<=[.\-_])(?=.)|(?<=[a-z])(?=[A-Z])")


@register.filter
def breakable(value) -> str:
    """`Contoso.Platform.Core` with a line-break opportunity (<wbr>) after each dot,
    dash and underscore, and `ContosoPlatformEngineering` with one before each word:
    a 64-character id or a long owner name wraps between its parts instead of
    widening the page or breaking inside a word; copying it gives the text unchanged."""
    *parts, last = _BREAKS.split(str(value))
    return format_html("{}{}", format_html_join("", "{}<wbr>", ((part,) for part in parts)), last)
