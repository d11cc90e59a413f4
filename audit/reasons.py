"""Readable words for the rule codes that refusals record in the audit trail.

The trail keeps the stable code (apikeys/scopes.py, packages/flows/publish.py,
trustedpublishing/); people reading their security log get a sentence. An
unknown code (a rule added later) is shown as it is rather than hidden.
"""

from django.utils.translation import gettext_lazy as _

RULES = {
    "revoked": _("the key was revoked"),
    "expired": _("the key has expired"),
    "holder_inactive": _("the account holding the key is deactivated"),
    "not_a_member": _("the key's holder is no longer a member of its package owner"),
    "scope_push": _("the key's scopes do not allow pushing"),
    "scope_push_new": _("the key may only push new versions of existing packages"),
    "scope_unlist": _("the key's scopes do not allow unlisting or relisting"),
    "scope_read": _("the key's scopes do not allow reading packages"),
    "package_not_selected": _("the package id matches none of the key's patterns or packages"),
    "not_owner": _("the key's package owner does not own this package"),
    "too_large": _("the package is too large"),
    "bad_package": _("the package is not valid"),
    "bad_symbols": _("the symbol package's PDBs are not portable or match no assembly"),
    "replayed": _("the token was used already"),
    "repository_recreated": _("the repository was re-created since the policy's first use"),
}


def rule_text(code: str) -> str:
    return str(RULES.get(code, code))
