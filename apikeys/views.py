from allauth.account.decorators import reauthentication_required
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST

from accounts import access, confirmation
from apikeys import flows, secret_scanning
from apikeys.forms import CreateApiKeyForm, EditApiKeyForm, package_registrations
from apikeys.models import ApiKey, KeyConflict, RevocationSource
from apikeys.scopes import Refusal


def _symbol_server_url(request) -> str | None:
    """The symbol server's address for Visual Studio (packages/symbol_server.py
    serves it; apikeys sits below packages, so only its URL name is used here)."""
    if settings.GALLEY_SYMBOL_SERVER != "on":
        return None
    path = reverse("symbol_file", args=["NAME", "KEY", "NAME"])
    return request.build_absolute_uri(path[: -len("NAME/KEY/NAME")])


# How a new secret reaches the user exactly once: it is rendered into the
# response to the POST that made it (Create or Regenerate), never stored in the
# session or a message and never put in a redirect. Those responses carry
# Cache-Control: no-store (never_cache), so Back and reload fetch the page
# anew; a reload re-sends the POST, which then fails harmlessly (the name is
# taken, or the regenerate form's hint no longer matches the key) instead of
# showing or silently minting a secret.


def _policies():
    """Trusted Publishing's policies (a layer above: it issues keys through this app),
    reached through the key's own relation to them, named there by string."""
    return ApiKey._meta.get_field("trusted_publishing_policy").related_model.objects


@sensitive_variables("new_key", "context")
def _render_page(request, *, form=None, new_key=None, status=200):
    user = request.user
    confirmed = confirmation.is_confirmed(user)
    # Trusted Publishing's one-hour keys are listed under their policy instead.
    keys = list(
        ApiKey.objects.held_by(user)
        .filter(trusted_publishing_policy__isnull=True)
        .select_related("owner", "revoked_by")
        .prefetch_related("packages")
    )
    if new_key:
        # nuget.org shows a new or regenerated key at the top of the list, in its place.
        keys.sort(key=lambda key: key.pk != new_key["key"].pk)
    if form is None and confirmed:
        form = CreateApiKeyForm(holder=user)
    owners = list(form.fields["owner"].queryset) if form else []
    # Each owner's packages appear once, in the create form; a key's Edit form
    # is loaded when it is opened (the edit view), so that fifty keys of an
    # owner with hundreds of packages stay a light page.
    packages_by_owner = package_registrations().by_owner({owner.pk for owner in owners})
    for owner in owners:
        owner.package_list = packages_by_owner.get(owner.pk, [])
    # The create form's owners are the accounts the user acts for (access.owners_for).
    acts_for = {owner.pk for owner in owners} if form else access.owner_ids(user)
    for key in keys:
        # A key for an organization its holder has left stays listed, marked.
        key.lost_owner = key.owner_id not in acts_for
    context = {
        "form": form,
        "owners": owners,
        "confirmed": confirmed,
        "keys": keys,
        "new_key": new_key,
        "policies": _policies().created_by(user).with_current_keys(),
        # nuget.org's banners above the list.
        "expired_keys": [key for key in keys if key.status_code == "expired"],
        "revoked_keys": [key for key in keys if key.status_code == "revoked"],
        "symbol_server_url": _symbol_server_url(request),
    }
    return render(request, "apikeys/apikeys.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
@reauthentication_required(allow_get=True)
@never_cache
@sensitive_variables("secret", "new_key")
def api_keys(request):
    """The API Keys page; a POST creates a key and shows its secret once."""
    if request.method == "GET":
        return _render_page(request)
    form = CreateApiKeyForm(request.POST, holder=request.user)
    if not form.is_valid():
        return _render_page(request, form=form, status=400)
    try:
        issued = flows.create_key(request, form)
    except IntegrityError:  # the same name, created by another request a moment ago
        form.add_error("name", _("You already have a key with this name."))
        return _render_page(request, form=form, status=400)
    if isinstance(issued, Refusal):
        form.add_error(None, issued.message)
        return _render_page(request, form=form, status=issued.status)
    key, secret = issued
    return _render_page(request, new_key={"key": key, "secret": secret})


@login_required
@require_POST
@reauthentication_required
@never_cache
@sensitive_variables("secret", "new_key")
def regenerate(request, pk):
    # Trusted Publishing's keys are never regenerated: CI exchanges a new token.
    key = get_object_or_404(
        ApiKey, pk=pk, holder=request.user, trusted_publishing_policy__isnull=True
    )
    # The form names the secret it means to replace (by its hint): a re-sent
    # POST, or a second tab, finds a different key and changes nothing.
    if request.POST.get("hint") != key.hint:
        messages.error(
            request, _("This key was regenerated already; the list shows it as it is now.")
        )
        return redirect("apikeys")
    try:
        secret = flows.regenerate_key(request, key)
    except KeyConflict:  # regenerated, or revoked by an administrator, a moment ago
        messages.error(
            request, _("This key was regenerated already; the list shows it as it is now.")
        )
        return redirect("apikeys")
    if isinstance(secret, Refusal):
        # Shown on the page this response renders; no secret exists to show.
        messages.error(request, secret.message)
        return _render_page(request, status=secret.status)
    return _render_page(request, new_key={"key": key, "secret": secret, "regenerated": True})


@login_required
@require_http_methods(["GET", "POST"])
@reauthentication_required(allow_get=True)
def edit(request, pk):
    """A key's packages and patterns: its own page without JavaScript, and the
    form the list's Edit button loads in place."""
    key = get_object_or_404(
        ApiKey.objects.select_related("owner"),
        pk=pk,
        holder=request.user,
        trusted_publishing_policy__isnull=True,
    )
    if key.owner_id not in access.owner_ids(request.user):
        raise PermissionDenied(_("You are no longer a member of the key's package owner."))
    if request.method == "GET":
        form = EditApiKeyForm(
            key=key,
            initial={
                "glob_patterns": "\n".join(key.glob_patterns),
                "packages": [package.pk for package in key.packages.all()],
            },
        )
        return _render_edit(request, key, form)
    form = EditApiKeyForm(request.POST, key=key)
    if not form.is_valid():
        return _render_edit(request, key, form, status=400)
    flows.edit_key(request, form)
    messages.success(request, _("The key “%(name)s” was updated.") % {"name": key.name})
    return redirect("apikeys")


def _render_edit(request, key, form, status=200):
    packages = package_registrations().by_owner({key.owner_id}).get(key.owner_id, [])
    selected = {str(pk) for pk in form["packages"].value() or []}
    context = {"key": key, "form": form, "packages": packages, "selected": selected}
    return render(request, "apikeys/edit.html", context, status=status)


@login_required
@require_POST
def revoke(request, pk):
    key = get_object_or_404(ApiKey, pk=pk, holder=request.user)
    if flows.revoke_key(key, by=request.user, source=RevocationSource.HOLDER, request=request):
        messages.success(
            request, _("The key “%(name)s” was revoked. It no longer works.") % {"name": key.name}
        )
    return redirect("apikeys")


@login_required
@require_POST
def delete(request, pk):
    key = get_object_or_404(ApiKey, pk=pk, holder=request.user)
    flows.delete_key(request, key)
    messages.success(request, _("The key “%(name)s” was deleted.") % {"name": key.name})
    return redirect("apikeys")


@csrf_exempt  # GitHub authenticates each request by its signature
@require_POST
def github_secret_scanning(request):
    identifier = request.headers.get("Github-Public-Key-Identifier")
    signature = request.headers.get("Github-Public-Key-Signature")
    if not identifier or not signature:
        raise Http404
    try:
        secret_scanning.public_key_pem(identifier)  # before a byte of the body is read
        secret_scanning.verify(request.body, identifier, signature)
        matches = secret_scanning.parse(request.body)
    except secret_scanning.BadRequest as error:
        return JsonResponse({"error": str(error)}, status=400)
    return JsonResponse(secret_scanning.handle(matches, request=request), safe=False)
