"""Who may have an account: GALLEY_SIGNUP is "open", "closed" or "domains:a.com,b.org"."""

from django.conf import settings


def is_open() -> bool:
    """Whether strangers may register themselves (in the allowed domains, if any)."""
    return settings.GALLEY_SIGNUP != "closed"


def allowed_domains() -> list[str]:
    """The domains registration is limited to; empty when it is not limited."""
    policy = settings.GALLEY_SIGNUP
    if not policy.startswith("domains:"):
        return []
    domains = policy.removeprefix("domains:").split(",")
    return [domain.strip().lower().lstrip("@") for domain in domains if domain.strip()]


def email_allowed(email: str) -> bool:
    domains = allowed_domains()
    if not domains:
        return True
    # The whole domain must match: "example.com" does not admit "evilexample.com"
    # nor "example.com.evil.net". Subdomains are not admitted either.
    return email.rpartition("@")[2].lower() in domains
