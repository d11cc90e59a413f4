"""Who may be given an API key: the one rule every issuing path goes through.

The API Keys form, Regenerate and the Trusted Publishing exchange all mint keys
through `issue`, which first asks `refusal`. A key is given only to an active
account with a confirmed e-mail address, acting for itself or for an active
organization it is (still) a member of; a key an administrator revoked is never
given a new secret. The callers turn a refusal into their own answer (a form
error, a message, the exchange's JSON error); nothing here raises for a refusal.
"""

from collections.abc import Callable
from typing import TypeVar

from django.utils.translation import gettext as _

from accounts import access, confirmation
from apikeys.models import ApiKey
from apikeys.scopes import Refusal

Minted = TypeVar("Minted")


def refusal(holder, owner, *, replacing: ApiKey | None = None) -> Refusal | None:
    """Why `holder` may not be given a key acting for `owner` (None: they may).

    `replacing` is the key Regenerate would give a new secret to.
    """
    if not holder.is_active:
        return Refusal(
            "holder_inactive",
            _("The account %(holder)s is deactivated: it cannot be given API keys.")
            % {"holder": holder.get_username()},
        )
    if not confirmation.is_confirmed(holder):
        # An unconfirmed address may be someone else's: registering with it must
        # not be enough to publish (nuget.org asks for a confirmed account too).
        return Refusal(
            "unconfirmed",
            _(
                "Confirm your e-mail address before getting an API key: follow the link in "
                "the confirmation e-mail, or send it again from Account Settings."
            ),
        )
    if not owner.is_active:
        return Refusal(
            "owner_inactive",
            _("The package owner %(owner)s is deactivated: no key can act for it.")
            % {"owner": owner.get_username()},
        )
    # Both of nuget.org's organization roles may push, so any accepted membership will do.
    if owner.pk != holder.pk and not access.is_member(holder, owner):
        return Refusal(
            "not_a_member",
            _("%(holder)s is no longer a member of %(owner)s: no key can act for it.")
            % {"holder": holder.get_username(), "owner": owner.get_username()},
        )
    if replacing is not None and not replacing.can_regenerate:
        return Refusal(
            "revoked_for_good", _("An administrator revoked this key: create a new key instead.")
        )
    return None


def issue(
    holder, owner, mint: Callable[[], Minted], *, replacing: ApiKey | None = None
) -> Minted | Refusal:
    """Call `mint` (which writes the key and returns it with its secret) if `holder`
    may be given a key for `owner`; otherwise return the refusal and write nothing."""
    refused = refusal(holder, owner, replacing=replacing)
    if refused is not None:
        return refused
    return mint()
