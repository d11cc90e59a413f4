from django import template

from audit import reasons

register = template.Library()


@register.filter
def rule_text(code: str) -> str:
    """The readable reason for a refusal's rule code (security log)."""
    return reasons.rule_text(code)
