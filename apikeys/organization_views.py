"""An organization's API keys, for its administrators: every key its members hold
for it (never a secret), each revocable. The organization's own pages are
accounts/views.py; keys are this app's."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import access
from accounts.models import Membership
from apikeys import flows
from apikeys.models import ApiKey, RevocationSource


@login_required
def organization_keys(request, name):
    """Every key that members hold for the organization: never a secret, revocable here."""
    membership = access.membership_for(request.user, name, role=Membership.Role.ADMIN)
    keys = (
        ApiKey.objects.filter(owner=membership.organization)
        .select_related("holder", "owner")
        .prefetch_related("packages")
    )
    member_ids = access.member_ids(membership.organization)
    for key in keys:
        key.holder_left = key.holder_id not in member_ids
    return render(
        request,
        "apikeys/organization_keys.html",
        {"membership": membership, "organization": membership.organization, "keys": keys},
    )


@login_required
@require_POST
def revoke_organization_key(request, name, pk):
    membership = access.membership_for(request.user, name, role=Membership.Role.ADMIN)
    key = get_object_or_404(
        ApiKey.objects.select_related("holder", "owner"), pk=pk, owner=membership.organization
    )
    reason = _("Revoked by %(admin)s, an administrator of %(organization)s.") % {
        "admin": request.user.username,
        "organization": membership.organization.username,
    }
    if flows.revoke_key(
        key, by=request.user, source=RevocationSource.ORGANIZATION, reason=reason, request=request
    ):
        messages.success(
            request,
            _("The key “%(name)s” of %(holder)s was revoked.")
            % {"name": key.name, "holder": key.holder.username},
        )
    return redirect("organization_keys", name=membership.organization.username)
