"""The pages people reach first: the home page, search results (`/packages?q=`) and
profiles (`/profiles/{name}`), as nuget.org's. They read what the feed reads, with
its reader rules: on a private feed a signed-in person reads what their account
may, and a visitor is sent to sign in."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.views import redirect_to_login
from django.db.models import Sum
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_safe

from packages import downloads, feed
from packages.feed import FeedError
from packages.models import PackageRegistration, PackageVersion
from packages.nupkg import NuGetVersion
from packages.readers import EVERYONE, Reader
from packages.search import queries

PAGE_SIZE = 20


def _private() -> bool:
    return settings.GALLEY_FEED_READ == "authenticated"


def page_reader(request) -> Reader:
    """Who reads a page: everyone on a public feed, else the signed-in person."""
    return EVERYONE if not _private() else Reader(user=request.user)


def _signed_out_of_private(request) -> bool:
    return _private() and not request.user.is_authenticated


@require_safe
def home(request):
    """The site's package and download counts and a search box."""
    context = {"counts": None}
    if not _signed_out_of_private(request):
        registrations = page_reader(request).readable(PackageRegistration.objects.all())
        versions = PackageVersion.objects.filter(registration__in=registrations.values("pk"))
        context["counts"] = {
            "packages": versions.filter(listed=True).values("registration").distinct().count(),
            "downloads": versions.aggregate(total=Sum("download_count"))["total"] or 0,
        }
    return render(request, "packages/home.html", context)


def _page_number(text) -> int:
    try:
        return min(max(int(text), 1), queries.MAX_SKIP // PAGE_SIZE + 1)
    except (TypeError, ValueError):
        return 1


def search_form(query) -> dict:
    """The search page's choices from its query string, with nuget.org's defaults
    (pre-releases included, sorted by relevance)."""
    return {
        "q": " ".join(query.get("q", "").split()),
        "prerelease": query.get("prerel", "true").lower() != "false",
        "sort": query.get("sortby", "")
        if query.get("sortby", "") in queries.SORTS
        else "relevance",
        "page": _page_number(query.get("page", "1")),
    }


@require_safe
def package_search(request):
    """nuget.org's search results, from the feed's search (packages/search/queries.py)."""
    if _signed_out_of_private(request):
        return redirect_to_login(request.get_full_path())
    form = search_form(request.GET)
    context = {"form": form, "results": [], "total": 0, "error": ""}
    try:
        params = queries.SearchParameters.from_query(
            {
                "q": form["q"],
                "skip": str((form["page"] - 1) * PAGE_SIZE),
                "take": str(PAGE_SIZE),
                "prerelease": "true" if form["prerelease"] else "false",
                "semVerLevel": "2.0.0",
                "sortBy": form["sort"],
            }
        )
    except FeedError as error:
        context["error"] = error.message
        return render(request, "packages/search.html", context, status=400)
    total, found = queries.search_page(params, page_reader(request))
    context["total"] = total
    context["results"] = [_result(each) for each in found]
    context["previous"] = form["page"] - 1 if form["page"] > 1 else None
    context["next"] = form["page"] + 1 if form["page"] * PAGE_SIZE < total else None
    return render(request, "packages/search.html", context)


def _result(found: queries.Found) -> dict:
    latest = found.versions[-1]
    return {
        "id": latest.registration.package_id,
        "version": latest,
        "owners": sorted(found.owners, key=str.lower),
        "downloads": found.downloads,
        "verified": found.verified,
        "tags": latest.tags.split(),
    }


@require_safe
def profile(request, username):
    """A person's or an organization's packages (those the viewer may read) and downloads."""
    if _signed_out_of_private(request):
        return redirect_to_login(request.get_full_path())
    account = get_user_model().objects.filter(username__iexact=username, is_active=True).first()
    if account is None:
        raise Http404
    owned = page_reader(request).readable(PackageRegistration.objects.filter(owners=account))
    registrations = list(
        PackageRegistration.objects.filter(pk__in=owned.values("pk"))
        .prefetch_related("versions")
        .order_by("normalized_id")
    )
    packages = _profile_packages(registrations)
    packages.sort(key=lambda p: (-p["downloads"], p["registration"].normalized_id))
    return render(
        request,
        "packages/profile.html",
        {
            "account": account,
            "packages": packages,
            "total_downloads": sum(p["downloads"] for p in packages),
        },
    )


def _profile_packages(registrations) -> list[dict]:
    """Each package with a listed version: its latest listed version and its downloads."""
    versions = [v for r in registrations for v in r.versions.all()]
    pending = downloads.pending_downloads(versions)
    packages = []
    for registration in registrations:
        listed = [v for v in registration.versions.all() if v.listed]
        if not listed:
            continue  # unlisted packages are not shown to the public, as on nuget.org
        ordered = feed.sorted_versions(listed)
        stable = [v for v in ordered if not NuGetVersion.of(v.version).is_prerelease]
        every = registration.versions.all()
        packages.append(
            {
                "registration": registration,
                "latest": (stable or ordered)[-1],
                "downloads": sum(v.download_count + pending.get(v.pk, 0) for v in every),
            }
        )
    return packages
