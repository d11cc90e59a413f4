"""HTTP for the NuGet V3 read protocol; the answers come from packages/feed.py.

Every view is behind `feed_reader` (packages/readers.py), answers GET and HEAD,
and carries Cache-Control (private on a private feed) and an ETag, so clients
and proxies can revalidate with a 304.
"""

import functools
import re

from django.conf import settings
from django.http import (
    FileResponse,
    HttpResponse,
    HttpResponseNotModified,
    HttpResponsePermanentRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.urls import NoReverseMatch, get_script_prefix, reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from core.vary import vary_as_set
from packages import advisories, downloads, feed, lifecycle, registrations, symbol_server
from packages.feed import FeedError
from packages.models import PackageVersion, SymbolPackage
from packages.nupkg.archive import MAX_ICON_BYTES, read_stored_entry
from packages.readers import feed_reader
from packages.responses import stored_file_headers
from packages.search import queries
from packages.storage import accel_redirect, download_redirect, package_storage
from packages.upstreams import cache as upstream_cache
from packages.upstreams import documents as upstream_documents

INDEX_MAX_AGE = 60  # versions and registration indexes change with each push
SEARCH_MAX_AGE = 30
SERVICE_INDEX_MAX_AGE = 3600
# A version's files never change once pushed, but they can disappear: an
# administrator deletes a version for good (malware, a leaked secret). So no
# `immutable` and no year-long lifetime, which would let every CDN and proxy keep
# serving a deleted package: an hour bounds how long a copy outlives its deletion
# (docs/deploy.md says how to purge a CDN at once), and after it a cache
# revalidates with the ETag, a 304 without a byte of the package.
FILE_MAX_AGE = 3600
_BLOCK = 256 * 1024
NUSPEC_CONTENT_TYPE = "application/xml"


def _cache_control(max_age: int) -> str:
    scope = "public" if settings.GALLEY_FEED_READ == "public" else "private"
    return f"{scope}, max-age={max_age}"


# Compression (BREACH): a compressed answer leaks its secrets' bytes through its
# length only when it also reflects what an attacker sends. Feed JSON carries no
# secret and no CSRF token (keys travel in headers, never in a body), so documents,
# search and autocomplete are gzipped for clients that accept it; pages with forms
# (CSRF tokens) are not compressed anywhere in Galley.
_GZIP = re.compile(r"(?:^|,)\s*(?:gzip|\*)\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*(?=,|$)", re.I)


def accepts_gzip(request) -> bool:
    for match in _GZIP.finditer(request.headers.get("Accept-Encoding", "")):
        try:
            if match.group(1) is None or float(match.group(1)) > 0:
                return True
        except ValueError:
            pass
    return False


def _send(request, document: feed.Document, max_age: int) -> HttpResponse:
    """A document as a static file server sends one: 304 when the client holds it,
    its gzip form when accepted, and for HEAD the headers GET would carry."""
    gzipped = document.gzipped is not None and accepts_gzip(request)
    if document.matches(request.headers.get("If-None-Match", "")):
        response = HttpResponseNotModified()
    else:
        body = document.gzipped if gzipped else document.body
        response = HttpResponse(
            b"" if request.method == "HEAD" else body, content_type="application/json"
        )
        response["Content-Length"] = str(len(body))
        if gzipped:
            response["Content-Encoding"] = "gzip"
    response["ETag"] = document.gzip_etag if gzipped else document.etag
    response["Cache-Control"] = _cache_control(max_age)
    response["Vary"] = "Accept-Encoding"
    return vary_as_set(response)


def _json(request, data: dict, max_age: int) -> HttpResponse:
    """A document built for this request alone (search): compressed quickly."""
    return _send(request, feed.Document.of(data, compresslevel=5), max_age)


def _error(error: FeedError) -> JsonResponse:
    response = JsonResponse({"error": error.message}, status=error.status)
    response["Cache-Control"] = "no-store"
    return response


def _links(request) -> registrations.Links:
    """The feed's URL prefixes for this request's scheme and host, worked out once
    per process for each (every document read needs them, even from the memo)."""
    return _links_for(f"{request.scheme}://{request.get_host()}", get_script_prefix())


@functools.lru_cache(maxsize=64)
def _links_for(origin: str, script_prefix: str) -> registrations.Links:
    registration = reverse("feed_registration_index", args=["_"])
    content = reverse("feed_versions", args=["_"])
    return registrations.Links(
        registrations=origin + registration[: -len("_/index.json")],
        content=origin + content[: -len("_/index.json")],
    )


def _answer(request, find, max_age: int = INDEX_MAX_AGE) -> HttpResponse:
    """`find()`'s Document (or a dict built for this request) as an answer, or its
    FeedError's. A memoised Document costs one query (the registration with the
    reader's rules) and no building, hashing or compressing: a client holding it
    gets its 304 then, and only after the reader was found to read it."""
    try:
        found = find()
    except FeedError as error:
        return _error(error)
    if isinstance(found, feed.Document):
        return _send(request, found, max_age)
    return _json(request, found, max_age)


# ------------------------------------------------------------- service index


def _resources(request) -> list[dict]:
    url = request.build_absolute_uri
    links = _links(request)
    search, complete = url(reverse("feed_search")), url(reverse("feed_autocomplete"))
    resources = [(url(reverse("push_package")), "PackagePublish/2.0.0", "Push and unlist")]
    try:
        symbols = url(reverse("push_symbol_package"))
        resources.append((symbols, "SymbolPackagePublish/4.9.0", "Push symbol packages"))
    except NoReverseMatch:  # symbol pushes not served by this build
        pass
    resources.append((links.content, "PackageBaseAddress/3.0.0", "Package content"))
    for suffix in ("", "/3.0.0-beta", "/3.0.0-rc", "/3.4.0", "/3.6.0"):
        resources.append((links.registrations, f"RegistrationsBaseUrl{suffix}", "Package metadata"))
    for suffix in ("", "/3.0.0-beta", "/3.0.0-rc", "/3.5.0"):
        resources.append((search, f"SearchQueryService{suffix}", "Search"))
        resources.append((complete, f"SearchAutocompleteService{suffix}", "Autocomplete"))
    # Galley's own pages: without ReportAbuseUriTemplate, NuGet's clients send
    # people (and the package's id, private or not) to nuget.org's report page.
    # build_absolute_uri() would percent-encode the braces too.
    root = url("/").rstrip("/")
    report = root + _uri_template("package_report_abuse")
    for suffix in ("/3.0.0-beta", "/3.0.0-rc", "/3.0.0"):
        resources.append((report, f"ReportAbuseUriTemplate{suffix}", "Report abuse"))
    details = root + _uri_template("package_version_detail")
    resources.append((details, "PackageDetailsUriTemplate/5.1.0", "Package details"))
    readme = links.content + "{lower_id}/{lower_version}/readme"
    resources.append((readme, "ReadmeUriTemplate/6.13.0", "Package README"))
    owners = root + reverse("profile", args=["OWNER_PLACEHOLDER"]).replace(
        "OWNER_PLACEHOLDER", "{owner}"
    )
    resources.append((owners, "OwnerDetailsUriTemplate/6.11.0", "Owner profile"))
    vulnerabilities = url(reverse("feed_vulnerability_index"))
    resources.append((vulnerabilities, "VulnerabilityInfo/6.7.0", "Known vulnerabilities"))
    return [{"@id": i, "@type": t, "comment": c} for i, t, c in resources]


def _uri_template(name: str) -> str:
    """The path of a package page with NuGet's `{id}` and `{version}` placeholders
    (reverse() would percent-encode the braces)."""
    path = reverse(name, args=["ID_PLACEHOLDER", "VERSION_PLACEHOLDER"])
    return path.replace("ID_PLACEHOLDER", "{id}").replace("VERSION_PLACEHOLDER", "{version}")


@feed_reader(any_key=True)
@require_safe
def service_index(request):
    """NuGet V3 service index: where clients find every other resource."""
    root = request.build_absolute_uri("/")
    document = feed.remembered(
        ("service", root),
        (),
        lambda: {"version": "3.0.0", "resources": _resources(request)},
    )
    return _send(request, document, SERVICE_INDEX_MAX_AGE)


# ------------------------------------------------------------ flat container


@feed_reader(document_of="package_id")
@require_safe
def versions_index(request, package_id):
    def build():
        upstream = upstream_documents.versions_index(package_id, request.feed_reader)
        return upstream or feed.versions_index_json(package_id, request.feed_reader)

    return _answer(request, build)


@feed_reader
@require_safe
def package_content(request, package_id, version, filename):
    """A version's .nupkg (`{id}.{version}.nupkg`) or its manifest (`{id}.nuspec`, the
    address NuGet's Package Content docs give), streamed, with 304 and ranges.

    The manifest's first address here, `{id}.{version}.nuspec`, redirects for good
    to the documented one, so links and scripts written against it keep working.
    """
    wanted = filename.lower()
    try:
        found = _stored_version(
            package_id, version, request.feed_reader, answer_first=_plain_download(request, wanted)
        )
        if isinstance(found, upstream_cache.Answered):
            if wanted == f"{found.lower_id}.{found.identity}.nupkg":
                return _answered_package(found)
            raise FeedError(404, feed._not_found(package_id, version[:64]).message)
        lower_id, lower_version = found.registration.normalized_id, found.normalized_version
        if wanted == f"{lower_id}.{lower_version}.nupkg":
            return _package_file(request, found)
        if wanted == f"{lower_id}.nuspec":
            return _nuspec_file(request, found)
        if wanted == "readme" and found.readme:  # ReadmeUriTemplate/6.13.0
            return _readme_file(found)
        if wanted == "icon" and found.icon_file:  # the embedded icon, as nuget.org's
            return _icon_file(found)
        if wanted == f"{lower_id}.{lower_version}.nuspec":
            nuspec = reverse(
                "feed_package_content", args=[lower_id, lower_version, f"{lower_id}.nuspec"]
            )
            return HttpResponsePermanentRedirect(nuspec)
        raise FeedError(404, feed._not_found(package_id, version[:64]).message)
    except FeedError as error:
        return _error(error)


def _stored_version(package_id: str, version: str, reader, *, answer_first: bool = False):
    """The stored version: through the upstreams for an id that takes their
    versions (fetched and cached the first time; with `answer_first`, a small
    package fetched now comes as upstream_cache.Answered), else Galley's own."""
    found = upstream_documents.stored_version(
        package_id, version, reader, answer_first=answer_first
    )
    if found is None:
        return feed.find_version(package_id, version, reader)
    if isinstance(found, PackageVersion) and found.upstream:
        lifecycle.mark_used(found, timezone.now())
    return found


def _plain_download(request, wanted: str) -> bool:
    """A GET of a whole .nupkg, with no condition: what a restore asks, and what a
    package fetched from an upstream for it may be answered with before it is stored."""
    conditions = ("Range", "If-Range", "If-Match", "If-None-Match", "If-Modified-Since")
    return (
        request.method == "GET"
        and wanted.endswith(".nupkg")
        and not any(name in request.headers for name in conditions)
    )


def _answered_package(answered):
    """A .nupkg just fetched from an upstream, from its bytes in memory (stored, and
    its download counted, once this answer is sent: upstream_cache.fetch_package)."""
    response = HttpResponse(answered.content, content_type="application/octet-stream")
    response["Accept-Ranges"] = "bytes"
    return _with(
        response,
        {
            "ETag": f'"{answered.sha512}"',
            "Last-Modified": http_date(),
            "Cache-Control": _cache_control(FILE_MAX_AGE),
            **stored_file_headers(
                f"{answered.lower_id}.{answered.identity}.nupkg", "application/octet-stream"
            ),
        },
    )


def _package_file(request, version):
    download_name = f"{version.registration.normalized_id}.{version.normalized_version}.nupkg"
    headers = {
        "ETag": f'"{version.sha512}"',
        "Last-Modified": http_date(version.created.timestamp()),
        "Cache-Control": _cache_control(FILE_MAX_AGE),
        **stored_file_headers(download_name, "application/octet-stream"),
    }
    response = _served_elsewhere(request, version.file.name, headers, version.created)
    if response is None:
        opener = lambda: package_storage().open(version.file.name, "rb")  # noqa: E731
        response = _file_response(
            request, opener, version.size, headers, "application/octet-stream", version.created
        )
    full = response.status_code in (200, 302) or response.get("Content-Range", "").startswith(
        "bytes 0-"
    )
    if request.method == "GET" and full and response.status_code in (200, 206, 302):
        downloads.count_download(version)
    return response


def _served_elsewhere(request, name: str, headers: dict, modified):
    """Leave the bytes to the store or to nginx where they can serve them, or None.

    S3: a 302 to a presigned URL that works for a few minutes (GET only: the
    signature covers the method), which asks the store to answer with the
    package's own file name. Local folder behind nginx: X-Accel-Redirect to its
    internal location, which also answers ranges and conditional requests.
    """
    storage = package_storage()
    if request.method == "GET" and (
        url := download_redirect(storage, name, headers["Content-Disposition"])
    ):
        not_modified = get_conditional_response(
            request, etag=headers["ETag"], last_modified=int(modified.timestamp())
        )
        if not_modified is not None:
            return _with(not_modified, headers)
        response = HttpResponse(status=302)
        response["Location"] = url
        response["Cache-Control"] = "no-store"  # the URL expires; the version does not
        return response
    if location := accel_redirect(storage, name):
        response = HttpResponse(content_type="application/octet-stream")
        response["X-Accel-Redirect"] = location
        return _with(response, headers)
    return None


def _nuspec_file(request, version):
    headers = {
        "ETag": f'"{version.sha512}-nuspec"',
        "Last-Modified": http_date(version.created.timestamp()),
        "Cache-Control": _cache_control(FILE_MAX_AGE),
        **stored_file_headers(f"{version.registration.normalized_id}.nuspec", NUSPEC_CONTENT_TYPE),
    }
    not_modified = get_conditional_response(
        request, etag=headers["ETag"], last_modified=int(version.created.timestamp())
    )
    if not_modified is not None:
        return _with(not_modified, headers)
    stored, data = feed.read_nuspec(version)
    if stored is None:  # pushed before nuspecs were stored: read out of the package
        response = HttpResponse(data, content_type=NUSPEC_CONTENT_TYPE)
        return _with(response, headers)
    size = stored.size
    stored.close()
    opener = lambda: package_storage().open(lifecycle.manifest_name(version), "rb")  # noqa: E731
    return _file_response(request, opener, size, headers, NUSPEC_CONTENT_TYPE, version.created)


def _readme_file(version):
    """The README's markdown as pushed (the docs: "the readme content itself")."""
    response = HttpResponse(version.readme, content_type="text/markdown; charset=utf-8")
    headers = {
        "ETag": f'"{version.sha512}-readme"',
        "Cache-Control": _cache_control(FILE_MAX_AGE),
        **stored_file_headers("README.md", "text/markdown"),
    }
    return _with(response, headers)


# Magic numbers of the images a browser may show in place (responses.INLINE_CONTENT_TYPES).
_IMAGE_TYPES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF8", "image/gif"),
)


def _icon_file(version):
    """The icon embedded in the package (<icon>): shown in place only if its bytes are
    a PNG, JPEG or GIF image, whatever its name says; anything else is a download."""
    with package_storage().open(version.file.name, "rb") as stored:
        data = read_stored_entry(stored, version.icon_file, MAX_ICON_BYTES)
    if data is None:
        raise FeedError(404, _("This package has no icon."))
    content_type = next(
        (t for magic, t in _IMAGE_TYPES if data.startswith(magic)), "application/octet-stream"
    )
    name = version.icon_file.replace("\\", "/").rpartition("/")[2] or "icon"
    headers = {
        "ETag": f'"{version.sha512}-icon"',
        "Cache-Control": _cache_control(FILE_MAX_AGE),
        **stored_file_headers(name, content_type),
    }
    return _with(HttpResponse(data, content_type=content_type), headers)


def _with(response, headers: dict):
    for name, value in headers.items():
        response[name] = value
    return vary_as_set(response)


_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def _byte_range(request, size: int, etag: str):
    """(start, end) of a single satisfiable range, None for the whole file, or
    "unsatisfiable". Several ranges, and a stale If-Range, get the whole file."""
    header = request.headers.get("Range", "")
    if not header or request.headers.get("If-Range", etag) != etag:
        return None
    match = _RANGE.fullmatch(header.strip())
    if not match or match.group(1) == match.group(2) == "":
        return None
    first, last = match.groups()
    if first == "":  # the last N bytes
        start, end = max(size - int(last), 0), size - 1
        return (start, end) if int(last) > 0 and size else "unsatisfiable"
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        return "unsatisfiable"
    return start, end


def _file_response(request, opener, size: int, headers: dict, content_type: str, modified):
    etag = headers["ETag"]
    not_modified = get_conditional_response(
        request, etag=etag, last_modified=int(modified.timestamp())
    )
    if not_modified is not None:
        return _with(not_modified, headers)
    if request.method == "HEAD":  # what GET would answer, without opening the file
        response = HttpResponse(content_type=content_type)
        response["Content-Length"] = str(size)
        response["Accept-Ranges"] = "bytes"
        return _with(response, headers)
    span = _byte_range(request, size, etag)
    if span == "unsatisfiable":
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    stored = opener()
    if span is None:
        # FileResponse hands the open file to the server's sendfile (wsgi.file_wrapper)
        # where there is one, and otherwise reads it in blocks: never whole in memory.
        response = FileResponse(stored, content_type=content_type)
        response["Content-Length"] = str(size)
        # FileResponse names the download after the stored file (1_mUqXUVm.0.0.nupkg):
        # the headers below put the package's own name back.
    else:
        start, end = span
        stored.seek(start)
        response = StreamingHttpResponse(
            _blocks(stored, end - start + 1), status=206, content_type=content_type
        )
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    response["Accept-Ranges"] = "bytes"
    return _with(response, headers)


def _blocks(stored, remaining: int):
    try:
        while remaining > 0:
            block = stored.read(min(_BLOCK, remaining))
            if not block:
                return
            remaining -= len(block)
            yield block
    finally:
        stored.close()


# ------------------------------------------------------------- symbol server


@feed_reader
@require_safe
def symbol_package(request, package_id, version):
    """A version's `.snupkg`, for whoever may read the package (nuget.org's address,
    linked as "Download symbols" from the package page); never in the flat container."""
    try:
        found = feed.find_version(package_id, version, request.feed_reader)
    except FeedError as error:
        return _error(error)
    symbols = SymbolPackage.objects.filter(version=found).first()
    if symbols is None:
        return _error(FeedError(404, feed._not_found(package_id, version[:64]).message))
    name = f"{found.registration.normalized_id}.{found.normalized_version}.snupkg"
    headers = {
        "ETag": f'"{symbols.sha512}"',
        "Last-Modified": http_date(symbols.created.timestamp()),
        "Cache-Control": _cache_control(FILE_MAX_AGE),
        **stored_file_headers(name, "application/octet-stream"),
    }
    response = _served_elsewhere(request, symbols.file.name, headers, symbols.created)
    if response is None:
        opener = lambda: package_storage().open(symbols.file.name, "rb")  # noqa: E731
        response = _file_response(
            request, opener, symbols.size, headers, "application/octet-stream", symbols.created
        )
    return response


@require_safe
def symbol_file(request, name, key, file_name):
    """An SSQP lookup (`/download/symbols/{file}/{key}/{file}`): the portable PDB,
    streamed like a package, or 404. Not behind `feed_reader`: debuggers send no
    credentials; packages/symbol_server.py decides what each lookup may see."""
    found = None
    if name.lower() == file_name.lower():
        found = symbol_server.lookup(name, key, request.headers.get("SymbolChecksum"))
    if found is None:
        response = HttpResponse(status=404, content_type="text/plain")
        response["Cache-Control"] = "no-store"
        return response
    modified = found.created
    headers = {
        "ETag": f'"{found.sha256}"',
        "Last-Modified": http_date(modified.timestamp()),
        "Cache-Control": _cache_control(FILE_MAX_AGE),
        **stored_file_headers(found.name, "application/octet-stream"),
        # The answer depends on the checksum asked with (a private feed answers
        # only with it): no cache may give it to a lookup without one.
        "Vary": "SymbolChecksum",
    }
    response = _served_elsewhere(request, found.file.name, headers, modified)
    if response is None:
        opener = lambda: package_storage().open(found.file.name, "rb")  # noqa: E731
        response = _file_response(
            request, opener, found.size, headers, "application/octet-stream", modified
        )
    if request.method == "GET" and response.status_code in (200, 302):
        downloads.count_symbol_download(found)
    return response


# -------------------------------------------------------------- registration
# RegistrationsBaseUrl/3.4.0 and /3.6.0 are documented as gzipped: one hive
# answers for every type, compressed (once, in the memo) for clients that accept it.


@feed_reader(document_of="package_id")
@require_safe
def registration_index(request, package_id):
    def build():
        links = _links(request)
        upstream = upstream_documents.registration_index(package_id, request.feed_reader, links)
        return upstream or registrations.registration_index_json(
            package_id, request.feed_reader, links
        )

    return _answer(request, build)


@feed_reader(document_of="package_id")
@require_safe
def registration_page(request, package_id, lower, upper):
    def build():
        links, reader = _links(request), request.feed_reader
        upstream = upstream_documents.registration_page(package_id, lower, upper, reader, links)
        return upstream or registrations.registration_page_json(
            package_id, lower, upper, reader, links
        )

    return _answer(request, build)


@feed_reader(document_of="package_id")
@require_safe
def registration_leaf(request, package_id, version):
    def build():
        links, reader = _links(request), request.feed_reader
        upstream = upstream_documents.registration_leaf(package_id, version, reader, links)
        return upstream or registrations.registration_leaf_json(package_id, version, reader, links)

    return _answer(request, build)


# -------------------------------------------------------------------- search


@feed_reader
@require_safe
def search(request):
    def build():
        params = queries.SearchParameters.from_query(request.GET)
        return queries.search(params, request.feed_reader, _links(request))

    return _answer(request, build, SEARCH_MAX_AGE)


@feed_reader
@require_safe
def autocomplete(request):
    def build():
        params = queries.SearchParameters.from_query(request.GET)
        package_id = request.GET.get("id", "").strip()
        if package_id:
            return queries.autocomplete_versions(package_id, params, request.feed_reader)
        return queries.autocomplete(params, request.feed_reader)

    return _answer(request, build, SEARCH_MAX_AGE)


# ---------------------------------------------------------- vulnerabilities
# VulnerabilityInfo/6.7.0 (vulnerability-info.md): an index of data files and one
# data file, from the imported advisories (packages/advisories.py).


@feed_reader
@require_safe
def vulnerability_index(request):
    page = request.build_absolute_uri(
        reverse("feed_vulnerability_page", args=[advisories.VULNERABILITY_PAGE])
    )
    return _answer(request, lambda: advisories.vulnerability_index(page))


@feed_reader
@require_safe
def vulnerability_page(request, name):
    def build():
        if name != advisories.VULNERABILITY_PAGE:
            raise FeedError(404, _("No such vulnerability data file."))
        return advisories.vulnerability_page()

    return _answer(request, build)
