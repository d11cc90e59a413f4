import json
import logging

from allauth.account.decorators import reauthentication_required
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_http_methods, require_POST

from accounts import access, confirmation
from apikeys.scopes import Refusal
from trustedpublishing import flows
from trustedpublishing.forms import PolicyForm
from trustedpublishing.models import DisabledReason, Policy

log = logging.getLogger("galley.trustedpublishing")

MAX_BODY_BYTES = 4096


def _render_page(request, *, form=None, status=200):
    user = request.user
    policies = list(
        Policy.objects.created_by(user).select_related("owner").order_by("-created", "-pk")
    )
    if form is None:
        form = PolicyForm(creator=user)
    may_act_for = access.owner_ids(user)
    now = timezone.now()
    for policy in policies:
        policy.lost_owner = policy.owner_id not in may_act_for
        policy.expired_unused = policy.is_expired_unused(now)
    context = {
        "form": form,
        "owners": list(form.fields["owner"].queryset),
        "policies": policies,
        "enabled": bool(settings.GALLEY_OIDC_AUDIENCE),
        "audience": settings.GALLEY_OIDC_AUDIENCE,
        "token_url": request.build_absolute_uri("/api/v2/token"),
        "unpinned_days": settings.GALLEY_TRUSTED_PUBLISHING_UNPINNED_DAYS,
        "confirmed": confirmation.is_confirmed(user),
    }
    return render(request, "trustedpublishing/policies.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
@reauthentication_required(allow_get=True)
def policies(request):
    """The Trusted Publishing page; a POST creates a policy."""
    if request.method == "GET":
        return _render_page(request)
    if not settings.GALLEY_OIDC_AUDIENCE:
        return _render_page(request, status=403)
    form = PolicyForm(request.POST, creator=request.user)
    if not form.is_valid():
        return _render_page(request, form=form, status=400)
    try:
        policy = flows.create_policy(request, form)
    except IntegrityError:  # the same name, created by another request a moment ago
        form.add_error("name", _("You already have a policy with this name."))
        return _render_page(request, form=form, status=400)
    if isinstance(policy, Refusal):
        form.add_error(None, policy.message)
        return _render_page(request, form=form, status=policy.status)
    messages.success(request, _("The policy “%(name)s” was created.") % {"name": policy.name})
    return redirect("trustedpublishing")


def _own_policy(request, pk) -> Policy:
    """The signed-in user's policy (404 for anyone else's), and 403 when they may
    no longer act for its package owner."""
    policy = get_object_or_404(Policy.objects.select_related("owner"), pk=pk, creator=request.user)
    if policy.owner_id not in access.owner_ids(request.user):
        raise PermissionDenied(_("You are no longer a member of the policy's package owner."))
    return policy


@login_required
@require_http_methods(["GET", "POST"])
@reauthentication_required(allow_get=True)
def edit(request, pk):
    policy = _own_policy(request, pk)
    form = PolicyForm(request.POST or None, instance=policy, creator=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            flows.edit_policy(request, form)
        except IntegrityError:
            form.add_error("name", _("You already have a policy with this name."))
        else:
            messages.success(
                request, _("The policy “%(name)s” was updated.") % {"name": policy.name}
            )
            return redirect("trustedpublishing")
    status = 400 if form.errors else 200
    return render(
        request, "trustedpublishing/edit.html", {"form": form, "policy": policy}, status=status
    )


@login_required
@require_POST
def disable(request, pk):
    policy = get_object_or_404(Policy, pk=pk, creator=request.user)
    if flows.disable(policy, reason=DisabledReason.CREATOR, by=request.user, request=request):
        messages.success(
            request,
            _("The policy “%(name)s” was disabled and its keys revoked.") % {"name": policy.name},
        )
    return redirect("trustedpublishing")


@login_required
@require_POST
@reauthentication_required
def enable(request, pk):
    policy = _own_policy(request, pk)
    refusal = flows.enable(request, policy)
    if refusal is not None:
        messages.error(request, refusal.message)
        return _render_page(request, status=refusal.status)
    messages.success(request, _("The policy “%(name)s” was enabled.") % {"name": policy.name})
    return redirect("trustedpublishing")


@login_required
@require_POST
@reauthentication_required
def renew(request, pk):
    """Another GALLEY_TRUSTED_PUBLISHING_UNPINNED_DAYS for a policy's first use."""
    policy = _own_policy(request, pk)
    refusal = flows.renew(request, policy)
    if refusal is not None:
        messages.error(request, refusal.message)
        return _render_page(request, status=refusal.status)
    messages.success(
        request,
        _("The policy “%(name)s” was renewed: use it by %(date)s.")
        % {
            "name": policy.name,
            "date": formats.date_format(
                timezone.localtime(policy.first_use_deadline), "DATETIME_FORMAT"
            ),
        },
    )
    return redirect("trustedpublishing")


@login_required
@require_POST
def delete(request, pk):
    policy = get_object_or_404(Policy.objects.select_related("owner"), pk=pk, creator=request.user)
    flows.delete_policy(request, policy)
    messages.success(
        request,
        _("The policy “%(name)s” was deleted and its keys revoked.") % {"name": policy.name},
    )
    return redirect("trustedpublishing")


# The token exchange (NuGet/login's request and nuget.org's answer) --------------


def _error(status: int, message: str) -> JsonResponse:
    response = JsonResponse({"error": message}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = "Bearer"
    response["Cache-Control"] = "no-store"
    return response


def _bearer_token(request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _space, token = header.partition(" ")
    if not header:
        raise flows.Refused(401, "no_token", _("The Authorization header is missing."))
    if scheme.lower() != "bearer" or not token.strip():
        raise flows.Refused(
            401,
            "no_token",
            _("The Authorization header must be 'Bearer ' followed by the CI's OIDC token."),
        )
    return token.strip()


def _username(request) -> str:
    content_type = request.content_type or ""
    if content_type.lower() != "application/json":
        raise flows.Refused(
            415, "content_type", _("The request must have a Content-Type of application/json.")
        )
    raw = request.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise flows.Refused(413, "too_large", _("The request body is too large."))
    try:
        body = json.loads(raw or b"null")
    except ValueError:
        raise flows.Refused(400, "bad_json", _("The request body is not valid JSON.")) from None
    if not isinstance(body, dict):
        raise flows.Refused(400, "bad_json", _("The request body must be a JSON object."))
    username = body.get("username")
    if not isinstance(username, str) or not username.strip():
        raise flows.Refused(
            400, "no_username", _("The username property in the request body is required.")
        )
    if "\x00" in username:  # no user name holds one, and PostgreSQL refuses the string
        raise flows.Refused(
            400, "bad_username", _("The username property may not hold a NUL character.")
        )
    if body.get("tokenType") != "ApiKey":
        raise flows.Refused(
            400,
            "token_type",
            _("The tokenType property in the request body is required and must be 'ApiKey'."),
        )
    return username.strip()


@csrf_exempt  # the OIDC token authenticates the request; no cookie is read
@require_POST
@never_cache
@sensitive_post_parameters()
@sensitive_variables("bearer", "secret")
def token(request):
    """POST /api/v2/token: a CI's OIDC token in, a one-hour API key out."""
    if not settings.GALLEY_OIDC_AUDIENCE:
        return _error(404, _("Trusted Publishing is not enabled on this server."))
    # Only the token speaks here: a browser's session (a page posting here from a
    # signed-in browser) is neither the exchange's actor nor a reader of its log.
    request.user = AnonymousUser()
    try:
        bearer = _bearer_token(request)
        username = _username(request)
        key, secret = flows.exchange(request, bearer, username)
    except flows.Refused as refusal:
        # Never the token: only the rule that refused it.
        log.warning("token exchange refused: status=%s rule=%s", refusal.status, refusal.code)
        return _error(refusal.status, refusal.message)
    log.info("token exchanged: key=%s… holder=%s", key.hint, key.holder.get_username())
    return JsonResponse(
        {"apiKey": secret, "expires": key.expires.isoformat()},
        headers={"Cache-Control": "no-store"},
    )
