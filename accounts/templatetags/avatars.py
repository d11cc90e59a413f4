"""{% avatar user 32 %}: the identicon of a user or an organization (or of a name)."""

from django import template

from accounts.avatars import identicon_svg

register = template.Library()


@register.simple_tag
def avatar(account, size: int = 32):
    name = account if isinstance(account, str) else account.get_username()
    return identicon_svg(name, size)
