"""`{% avatar account size %}`: an account's identicon as an <img> (a data: URL, which
the site's CSP allows for images), with the account's name as its alt text."""

import base64

from django import template
from django.utils.html import format_html
from django.utils.translation import gettext as _

from accounts.avatars import identicon_svg

register = template.Library()


@register.simple_tag
def avatar(account, size=32):
    name = account if isinstance(account, str) else account.get_username()
    data = base64.b64encode(identicon_svg(name).encode("utf-8")).decode("ascii")
    return format_html(
        '<img class="avatar" src="data:image/svg+xml;base64,{}" width="{}" height="{}" alt="{}">',
        data,
        int(size),
        int(size),
        _("%(name)s’s avatar") % {"name": name},
    )
