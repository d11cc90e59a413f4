from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.files.uploadhandler import TemporaryFileUploadHandler
from django.db.models import Prefetch
from django.http import Http404, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.models import Membership
from packages import owners, publish
from packages.models import PackageRegistration, PackageVersion
from packages.nupkg import PackageTooLarge
from packages.publish import Refused

EXPIRY_WARNING_DAYS = 10


def service_index(request):
    """NuGet V3 service index: where `dotnet nuget push -s …/v3/index.json` pushes."""
    push_url = request.build_absolute_uri(reverse("push_package"))
    return JsonResponse(
        {
            "version": "3.0.0",
            "resources": [
                {"@id": push_url, "@type": "PackagePublish/2.0.0", "comment": "Push and unlist"},
            ],
        }
    )


# Typographic marks that French (and English) messages use, in their plain forms.
_PLAIN = str.maketrans(
    {"“": '"', "”": '"', "«": '"', "»": '"', "’": "'", "‘": "'", "…": "...", "–": "-"}
)


def _reason_phrase(message: str) -> str:
    # NuGet clients print the HTTP reason phrase, not the body, so the reason
    # goes there too; a status line allows Latin-1 on one line only.
    plain = " ".join(message.translate(_PLAIN).split())  # split() also folds no-break spaces
    # The package id in a URL can carry control characters; a status line must not.
    plain = "".join(c for c in plain if c >= " " and c != "\x7f")
    return plain.encode("latin-1", "replace").decode("latin-1")[:400]


def _answer(status: int, message: str, *, key=None, code: str = "") -> HttpResponse:
    body = "" if status == 204 else message + "\n"  # a 204 carries no body
    response = HttpResponse(body, status=status, content_type="text/plain; charset=utf-8")
    response.reason_phrase = _reason_phrase(message)
    if code:
        response["X-Galley-Reason"] = code  # stable, for scripts; the text is translated
    if status == 401:
        response["WWW-Authenticate"] = f'ApiKey realm="{settings.GALLEY_SITE_NAME}"'
    if key is not None:
        days = key.days_left()
        if days <= EXPIRY_WARNING_DAYS:
            response["X-NuGet-Warning"] = _reason_phrase(
                ngettext(
                    "Your API key expires in %(days)d day. Regenerate it on the API Keys page.",
                    "Your API key expires in %(days)d days. Regenerate it on the API Keys page.",
                    days,
                )
                % {"days": days}
            )
    return response


class _LimitedUploadHandler(TemporaryFileUploadHandler):
    """Streams the upload to a temporary file and stops at the size limit."""

    def __init__(self, request, limit: int):
        super().__init__(request)
        self.limit = limit
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            self.file.close()
            raise PackageTooLarge(_too_large_message())
        return super().receive_data_chunk(raw_data, start)


def _too_large_message() -> str:
    return _("The package is larger than %(size)d MB.") % {
        "size": settings.GALLEY_MAX_PACKAGE_SIZE // (1024 * 1024)
    }


def _read_upload(request):
    """The uploaded .nupkg from the multipart body the NuGet client sends (PUT)."""
    limit = settings.GALLEY_MAX_PACKAGE_SIZE
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0
    # The multipart framing adds a few hundred bytes around the package.
    if declared > limit + 64 * 1024:
        raise Refused(413, "too_large", _too_large_message())
    if request.content_type != "multipart/form-data":
        raise Refused(
            400,
            "bad_request",
            _("Send the package as multipart/form-data, as the NuGet client does."),
        )
    request.upload_handlers = [_LimitedUploadHandler(request, limit)]
    try:
        _fields, files = request.parse_file_upload(request.META, request)
    except PackageTooLarge as error:
        raise Refused(413, "too_large", error.reason) from None
    except MultiPartParserError:
        raise Refused(
            400, "bad_request", _("The request body is not valid multipart/form-data.")
        ) from None
    upload = files.get("package") or next(iter(files.values()), None)
    if upload is None:
        raise Refused(400, "bad_request", _("The request contains no package file."))
    return upload


@csrf_exempt  # authenticated only by the X-NuGet-ApiKey header, never by a cookie
def push_package(request):
    if request.method != "PUT":
        return HttpResponseNotAllowed(["PUT"])
    key = None
    try:
        key = publish.authenticate(request)
        upload = _read_upload(request)
        try:
            version = publish.push(request, key, upload.file)
        finally:
            upload.close()
    except Refused as refusal:
        return _answer(refusal.status, refusal.message, key=key, code=refusal.code)
    message = _("%(id)s %(version)s was pushed.") % {
        "id": version.registration.package_id,
        "version": version.version,
    }
    return _answer(201, message, key=key)


@csrf_exempt  # authenticated only by the X-NuGet-ApiKey header, never by a cookie
def package_version(request, package_id, version):
    """DELETE unlists a version (what `nuget delete` does on nuget.org); POST relists it."""
    if request.method not in ("DELETE", "POST"):
        return HttpResponseNotAllowed(["DELETE", "POST"])
    listed = request.method == "POST"
    key = None
    try:
        key = publish.authenticate(request)
        found = publish.set_listed(request, key, package_id, version, listed=listed)
    except Refused as refusal:
        return _answer(refusal.status, refusal.message, key=key, code=refusal.code)
    names = {"id": found.registration.package_id, "version": found.version}
    if listed:
        return _answer(200, _("%(id)s %(version)s is listed.") % names, key=key)
    return _answer(204, _("%(id)s %(version)s is unlisted.") % names, key=key)


@login_required
def manage_packages(request):
    """The user's packages and, grouped, those of their organizations."""
    user = request.user
    memberships = list(Membership.objects.filter(member=user).select_related("organization"))
    accounts = [user, *(m.organization for m in memberships)]
    manageable = {user.pk} | {m.organization_id for m in memberships if m.is_admin}
    registrations = (
        PackageRegistration.objects.filter(owners__in=accounts)
        .distinct()
        .prefetch_related(
            "owners", Prefetch("versions", queryset=PackageVersion.objects.order_by("-created"))
        )
    )
    groups = {account.pk: (account, []) for account in accounts}
    for registration in registrations:
        registration.can_manage = owners.can_manage(user, registration, manageable)
        for owner in registration.owners.all():
            if owner.pk in groups:
                groups[owner.pk][1].append(registration)
    return render(request, "packages/manage.html", {"groups": list(groups.values())})


def _managed_registration(request, package_id):
    registration = get_object_or_404(
        PackageRegistration.objects.prefetch_related("owners"), normalized_id=package_id.lower()
    )
    if not owners.can_manage(request.user, registration):
        # Owners through an organization see the package but cannot manage it.
        if not PackageRegistration.objects.filter(
            pk=registration.pk, owners__in=[request.user, *request.user.organizations()]
        ).exists():
            raise Http404
        raise PermissionDenied
    return registration


@login_required
@require_POST
def add_package_owner(request, package_id):
    registration = _managed_registration(request, package_id)
    try:
        owners.add_owner(request, registration, request.POST.get("owner", "").strip())
    except owners.OwnershipError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, _("The owners of %(id)s were changed.") % {"id": registration.package_id}
        )
    return redirect("packages")


@login_required
@require_POST
def remove_package_owner(request, package_id, username):
    registration = _managed_registration(request, package_id)
    try:
        owners.remove_owner(request, registration, username)
    except owners.OwnershipError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, _("The owners of %(id)s were changed.") % {"id": registration.package_id}
        )
    return redirect("packages")
