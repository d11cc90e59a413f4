"""The package pages people read (`/packages/{id}`) and the owners' Manage page."""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.db.models import Prefetch, Sum
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from accounts import access
from apikeys.scopes import Refusal
from packages import (
    advisories,
    downloads,
    feed,
    frameworks,
    permissions,
    public_views,
    readme,
    symbol_server,
)
from packages.flows import abuse, contact, deprecation, listing
from packages.forms import ContactOwnersForm, ReportAbuseForm
from packages.models import PackageRegistration, PackageVersion, SymbolPackage
from packages.nupkg import NuGetVersion
from packages.nupkg.archive import MAX_LICENSE_BYTES, read_stored_entry
from packages.readers import Reader
from packages.search import queries
from packages.storage import package_storage


def _feed_is_private() -> bool:
    return getattr(settings, "GALLEY_FEED_READ", "public") == "authenticated"


def _by_version(versions):
    """Newest first, in NuGet's order (1.10.0 after 1.9.0, 2.0.0-beta before 2.0.0)."""
    return feed.sorted_versions(versions)[::-1]


def _shown_version(versions, version_text: str | None):
    """The version the page is about: the one in the URL, else the latest listed
    stable version, else the latest listed one, else the latest the viewer sees."""
    if version_text is not None:
        try:
            identity = NuGetVersion.of(version_text).identity_key
        except ValueError:
            raise Http404 from None
        found = next((v for v in versions if v.normalized_version == identity), None)
        if found is None:
            raise Http404
        return found
    listed = [v for v in versions if v.listed]
    stable = [v for v in listed if not NuGetVersion.of(v.version).is_prerelease]
    return (stable or listed or versions)[0]


def web_url(url: str) -> str:
    """The URL if it is an http(s) address, else "": a manifest's URLs are the
    pusher's words, and a javascript: or data: link must not reach the page."""
    return url if urlsplit(url.strip()).scheme.lower() in ("http", "https") else ""


def range_text(version_range: str) -> str:
    """A NuGet version range as nuget.org shows it: "[1.0, )" is "(>= 1.0)"."""
    text = version_range.strip()
    if not text:
        return ""
    if text[0] not in "[(":
        return f"(>= {text})"  # a bare version is a minimum
    low, _comma, high = text[1:-1].partition(",")
    low, high = low.strip(), high.strip()
    if not _comma:
        return f"(= {low})"
    parts = []
    if low:
        parts.append(f"{'>=' if text[0] == '[' else '>'} {low}")
    if high:
        parts.append(f"{'<=' if text[-1] == ']' else '<'} {high}")
    return f"({' && '.join(parts)})" if parts else ""


def dependency_groups(version) -> list[dict]:
    groups = getattr(version, "dependency_groups", None) or []
    return [
        {
            "framework": group.get("targetFramework", ""),
            "dependencies": [
                {"id": d["id"], "range": range_text(d.get("range", ""))}
                for d in group.get("dependencies", [])
            ],
        }
        for group in groups
    ]


def _downloads(versions) -> dict[int, int]:
    """{version pk: downloads}, with those counted since the last flush."""
    pending = downloads.pending_downloads(versions)
    return {v.pk: v.download_count + pending.get(v.pk, 0) for v in versions}


def _download_url(version, registration) -> str:
    stem = f"{registration.normalized_id}.{version.normalized_version}"
    return reverse(
        "feed_package_content",
        args=[registration.normalized_id, version.normalized_version, f"{stem}.nupkg"],
    )


def _symbols(version, registration) -> dict | None:
    """Whether a version has symbols: their download link and how often debuggers
    fetched its PDBs from the symbol server (counted apart from the package's)."""
    symbols = (
        SymbolPackage.objects.filter(version=version)
        .annotate(fetched=Sum("files__download_count"))
        .first()
    )
    if symbols is None:
        return None
    fetched = symbols.fetched or 0
    url = reverse("symbol_package", args=[registration.normalized_id, version.normalized_version])
    return {"url": url, "downloads": fetched, "server": symbol_server.enabled()}


def install_snippets(package_id: str, version: str, prerelease: bool) -> list[dict]:
    """nuget.org's install tabs, each with the text it shows (a tab may show two
    snippets, each under its own heading, as Central Package Management's and Cake's)."""
    cake = f"nuget:?package={package_id}&version={version}" + ("&prerelease" if prerelease else "")
    return [
        {"name": "dotnet-cli", "label": ".NET CLI", "parts": [("", f"dotnet add package {package_id} --version {version}")]},
        {"name": "package-manager", "label": "Package Manager", "parts": [("", f"NuGet\\Install-Package {package_id} -Version {version}")]},
        {"name": "package-reference", "label": "PackageReference", "parts": [("", f'<PackageReference Include="{package_id}" Version="{version}" />')]},
        {
            "name": "central-package-management",
            "label": "Central Package Management",
            "parts": [
                ("Directory.Packages.props", f'<PackageVersion Include="{package_id}" Version="{version}" />'),
                (_("Project file"), f'<PackageReference Include="{package_id}" />'),
            ],
        },
        {"name": "paket-cli", "label": "Paket CLI", "parts": [("", f"paket add {package_id} --version {version}")]},
        {"name": "script-interactive", "label": "Script & Interactive", "parts": [("", f'#r "nuget: {package_id}, {version}"')]},
        {"name": "file-based-apps", "label": "File-based apps", "parts": [("", f"#:package {package_id}@{version}")]},
        {
            "name": "cake",
            "label": "Cake",
            "parts": [
                (_("Install %(id)s as a Cake Addin") % {"id": package_id}, f"#addin {cake}"),
                (_("Install %(id)s as a Cake Tool") % {"id": package_id}, f"#tool {cake}"),
            ],
        },
    ]  # fmt: skip


def deprecation_banner(version) -> dict | None:
    """What nuget.org's banner says of a deprecated version: the sentence for its
    reasons, the alternate package and the owner's message."""
    reasons = set(version.deprecation_reasons)
    if not reasons:
        return None
    if {"Legacy", "CriticalBugs"} <= reasons:
        text = _("This package has been deprecated as it is legacy and has critical bugs.")
    elif "Legacy" in reasons:
        text = _("This package has been deprecated as it is legacy and is no longer maintained.")
    elif "CriticalBugs" in reasons:
        text = _("This package has been deprecated as it has critical bugs.")
    else:
        text = _("This package has been deprecated.")
    return {
        "text": text,
        "alternate_id": version.deprecation_alternate_id,
        "alternate_version": version.deprecation_alternate_version,
        "message": version.deprecation_message,
    }


def vulnerability_banner(registration, version) -> dict | None:
    """nuget.org's banner for a version with known vulnerabilities: the highest
    severity, and each advisory's link."""
    found = advisories.vulnerabilities_by_version(registration, [version]).get(version.pk)
    if not found:
        return None
    highest = max(int(item["severity"]) for item in found)
    severity = advisories.Advisory.Severity(highest).label
    return {"severity": severity, "urls": sorted({item["advisoryUrl"] for item in found})}


TABS = ("readme", "frameworks", "dependencies", "used-by", "versions", "release-notes")


def _chosen(request, name: str, choices, default: str) -> str:
    value = request.GET.get(name, "")
    return value if value in choices else default


# What only the version a page is about shows: left out of the list of every version
# (a 200-version package would decode 200 READMEs and dependency lists), read for the
# shown version alone by `_in_full`.
_SHOWN_ONLY = (
    "description",
    "summary",
    "readme",
    "release_notes",
    "dependency_groups",
    "lib_frameworks",
    "authors",
    "tags",
)


def _viewable_registration(request, package_id: str):
    """The registration the page is about, if the viewer may read it (else 404), or
    a redirect to sign in on a private feed."""
    if _feed_is_private() and not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    registration = get_object_or_404(
        PackageRegistration.objects.prefetch_related(
            "owners", Prefetch("versions", PackageVersion.objects.defer(*_SHOWN_ONLY))
        ),
        normalized_id=package_id.lower(),
    )
    if _feed_is_private() and not Reader(user=request.user).can_read(registration):
        # The same rule as the feed's: on a private feed, a package its reader may
        # not read does not exist for them.
        raise Http404
    return registration


def package_detail(request, package_id, version=None):
    registration = _viewable_registration(request, package_id)
    if not isinstance(registration, PackageRegistration):
        return registration
    mine = access.owner_ids(request.user)
    is_owner = any(owner.pk in mine for owner in registration.owners.all())
    every_version = _by_version(registration.versions.all())
    # Unlisted versions still restore by exact version, and their own page
    # says they are unlisted (as nuget.org's does); only owners see them listed.
    visible = every_version if is_owner else [v for v in every_version if v.listed]
    if not every_version or (version is None and not visible):
        raise Http404
    shown = _shown_version(every_version if version else visible, version)
    if version is not None and version != shown.version:
        return redirect("package_version_detail", registration.package_id, shown.version)
    shown.refresh_from_db(fields=_SHOWN_ONLY)
    context = _detail_context(request, registration, shown, visible, every_version)
    context["is_owner"] = is_owner
    context["can_manage"] = is_owner and permissions.can_manage(request.user, registration)
    return render(request, "packages/detail.html", context)


def _detail_context(request, registration, shown, visible, every_version) -> dict:
    downloads = _downloads(every_version)
    for each in visible:
        each.downloads = downloads[each.pk]
    prerelease = request.GET.get("prerel", "true") != "false"
    listed = [v for v in visible if v.listed]
    newest = next((v for v in listed if not v.is_prerelease), None) or (listed or [shown])[0]
    days = max((timezone.now() - registration.created).days, 1)
    tab = _chosen(request, "tab", TABS, "readme" if shown.readme else "dependencies")
    snippets = install_snippets(registration.package_id, shown.version, shown.is_prerelease)
    install = _chosen(request, "install", [s["name"] for s in snippets], "dotnet-cli")
    used_by_count, used_by = queries.dependents(
        registration.package_id, public_views.page_reader(request)
    )
    return {
        "registration": registration,
        "version": shown,
        "versions": [v for v in visible if prerelease or not v.is_prerelease],
        "prerelease": prerelease,
        "newer": newest if newest.pk != shown.pk and _is_newer(newest, shown) else None,
        "total_downloads": sum(downloads.values()),
        "version_downloads": downloads[shown.pk],
        "downloads_per_day": sum(downloads.values()) // days,
        "download_url": _download_url(shown, registration),
        "symbols": _symbols(shown, registration),
        "symbol_server_url": symbol_server.server_url(request),
        "project_url": web_url(shown.project_url),
        "project_host": urlsplit(shown.project_url.strip()).netloc,
        "license_url": web_url(shown.license_url),
        "tags": shown.tags.split(),
        "dependency_groups": dependency_groups(shown),
        "deprecation": deprecation_banner(shown),
        "vulnerabilities": vulnerability_banner(registration, shown),
        "frameworks": frameworks.package_frameworks(shown.dependency_groups, shown.lib_frameworks),
        "readme_html": readme.render(shown.readme),
        "used_by": used_by,
        "used_by_count": used_by_count,
        "tab": tab,
        "tabs": TABS,
        "reservation": registration.reservation(),
        "snippets": snippets,
        "install": install,
        "feed_url": request.build_absolute_uri(reverse("service_index")),
    }


def _is_newer(candidate, shown) -> bool:
    return NuGetVersion.of(candidate.version) > NuGetVersion.of(shown.version)


@login_required
@require_http_methods(["GET", "POST"])
def manage_listing(request, package_id):
    """nuget.org's per-package Manage page: a "Listed" box for each version."""
    registration = permissions.managed_package(request.user, package_id)
    if request.method == "POST":
        listed, shown = (
            {int(pk) for pk in request.POST.getlist(name) if pk.isascii() and pk.isdigit()}
            for name in ("listed", "shown")
        )
        changed = listing.apply_listing(request, registration, listed, shown)
        messages.success(
            request,
            ngettext(
                "%(count)d version of %(id)s changed.",
                "%(count)d versions of %(id)s changed.",
                len(changed),
            )
            % {"count": len(changed), "id": registration.package_id}
            if changed
            else _("Nothing changed."),
        )
        return redirect("package_manage", registration.package_id)
    versions = _by_version(registration.versions.all())
    return render(
        request,
        "packages/manage_listing.html",
        {
            "registration": registration,
            "versions": versions,
            "owners": list(registration.owners.all()),
            "pending": permissions.ownership_requests_by(request.user).filter(
                registration=registration
            ),
            "readme_version": next((v for v in versions if v.readme), None),
        },
    )


@login_required
@require_POST
def manage_deprecation(request, package_id):
    """The Manage page's Deprecation section: deprecate the chosen versions, or
    undeprecate them ("Undeprecate")."""
    registration = permissions.managed_package(request.user, package_id)
    chosen = {int(pk) for pk in request.POST.getlist("versions") if pk.isascii() and pk.isdigit()}
    if request.POST.get("action") == "undeprecate":
        outcome = deprecation.undeprecate(request, registration, chosen)
    else:
        outcome = deprecation.deprecate(
            request,
            registration,
            chosen,
            reasons=request.POST.getlist("reasons"),
            message=request.POST.get("message", ""),
            alternate_id=request.POST.get("alternate_id", ""),
            alternate_version=request.POST.get("alternate_version", ""),
        )
    if isinstance(outcome, Refusal):
        messages.error(request, outcome.message)
    elif outcome:
        messages.success(
            request,
            ngettext(
                "The deprecation of %(count)d version of %(id)s was saved.",
                "The deprecation of %(count)d versions of %(id)s was saved.",
                len(outcome),
            )
            % {"count": len(outcome), "id": registration.package_id},
        )
    else:
        messages.success(request, _("Nothing changed."))
    return redirect(reverse("package_manage", args=[registration.package_id]) + "#deprecation")


@require_http_methods(["GET", "HEAD", "POST"])
def report_abuse(request, package_id, version):
    """nuget.org's Report package page, where the service index's
    ReportAbuseUriTemplate points: recorded and e-mailed to the administrators."""
    if _feed_is_private() and not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    found = abuse.reportable_version(request.user, package_id, version)
    if found is None:
        raise Http404
    signed_in = request.user.is_authenticated
    form = ReportAbuseForm(request.POST or None, signed_in=signed_in)
    context = {"version": found, "form": form, "refusal": None}
    status = 400 if request.method == "POST" else 200
    if request.method == "POST" and form.is_valid():
        outcome = abuse.report(
            request,
            found,
            reason=form.cleaned_data["reason"],
            message=form.cleaned_data["message"],
            email=form.cleaned_data.get("email", ""),
        )
        if not isinstance(outcome, Refusal):
            messages.success(
                request, _("Your report was sent to the site’s administrators. Thank you.")
            )
            return redirect("package_version_detail", found.registration.package_id, found.version)
        context["refusal"], status = outcome.message, outcome.status
    return render(request, "packages/report_abuse.html", context, status=status)


@require_http_methods(["GET", "HEAD", "POST"])
def contact_owners(request, package_id, version):
    """nuget.org's Contact Owners page: a signed-in person with a confirmed address
    writes to the package's owners, who answer by e-mail (packages/flows/contact.py)."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    found = abuse.reportable_version(request.user, package_id, version)
    if found is None:
        raise Http404
    registration = found.registration
    confirmed = contact.sender_address(request.user)
    owners = contact.contactable_owners(registration)
    writable = bool(confirmed and owners and contact.recipients(registration))
    form = ContactOwnersForm(request.POST or None)
    context = {
        "version": found,
        "registration": registration,
        "form": form,
        "confirmed": confirmed,
        "owners": owners,
        "writable": writable,
        "has_owners": registration.owners.exists(),
        "project_url": web_url(found.project_url),
        "refusal": None,
    }
    status = 200
    if request.method == "POST":
        status = 400
        if not confirmed or not writable:
            status = 403  # the page says why; nothing is sent
        elif form.is_valid():
            outcome = contact.send(
                request,
                found,
                message=form.cleaned_data["message"],
                copy_sender=form.cleaned_data["copy_sender"],
            )
            if not isinstance(outcome, Refusal):
                messages.success(
                    request,
                    _("Your message has been sent to the owners of %(id)s.")
                    % {"id": registration.package_id},
                )
                return redirect("package_version_detail", registration.package_id, found.version)
            context["refusal"], status = outcome.message, outcome.status
    return render(request, "packages/contact_owners.html", context, status=status)


@require_http_methods(["GET", "HEAD"])
def license_file(request, package_id, version):
    """The license file a package carries (<license type="file">), as text inside a
    Galley page (escaped by the template), as nuget.org's License page."""
    registration = _viewable_registration(request, package_id)
    if not isinstance(registration, PackageRegistration):
        return registration
    every_version = _by_version(registration.versions.all())
    shown = _shown_version(every_version, version) if every_version else None
    if shown is None or not shown.license_file:
        raise Http404
    with package_storage().open(shown.file.name, "rb") as stored:
        data = read_stored_entry(stored, shown.license_file, MAX_LICENSE_BYTES)
    if data is None:
        raise Http404
    return render(
        request,
        "packages/license.html",
        {
            "registration": registration,
            "version": shown,
            "text": data.decode("utf-8-sig", errors="replace"),
        },
    )
