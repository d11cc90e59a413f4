"""docs/api/package-publish-resource.md (PackagePublish/2.0.0) and
symbol-package-publish-resource.md (SymbolPackagePublish/4.9.0)."""

import io

import pytest
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

from packages.models import PackageVersion, SymbolPackage
from tests.conformance.conftest import BASE, pushed
from tests.factories import make_key
from tests.helpers import push, push_symbols, unlist
from tests.packages.builders import DLL, DLL_PATH, nupkg, snupkg

pytestmark = pytest.mark.django_db


def publish_url(client) -> str:
    resources = {r["@type"]: r["@id"] for r in client.get("/v3/index.json").json()["resources"]}
    return resources["PackagePublish/2.0.0"].removeprefix(BASE)


# ---------------------------------------------------------------------- push


def test_push_is_put_of_multipart_form_data_and_answers_201(client, publisher):
    """ "PUT https://www.nuget.org/api/v2/package" with `X-NuGet-ApiKey`; "The request header
    `Content-Type` is `multipart/form-data` and the first item in the request body is the
    raw bytes of the .nupkg"; "201, 202 | The package was successfully pushed"."""
    url = publish_url(client)
    assert url == "/api/v2/package"
    response = client.put(
        url,
        encode_multipart(BOUNDARY, {"package": io.BytesIO(nupkg())}),
        content_type=MULTIPART_CONTENT,
        headers={"X-NuGet-ApiKey": publisher},
    )
    assert response.status_code == 201
    assert PackageVersion.objects.get().version == "1.0.0"


def test_push_reads_the_first_item_whatever_its_name_and_ignores_the_rest(client, publisher):
    """ "Subsequent items in the multipart body are ignored. The file name or any other headers
    of the multipart items are ignored.\""""
    data = nupkg("Contoso.First")
    body = (
        f"--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="whatever"; filename="odd name.bin"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode() + data
    body += (
        f"\r\n--{BOUNDARY}\r\n"
        'Content-Disposition: form-data; name="package"; filename="second.nupkg"\r\n\r\n'
    ).encode() + nupkg("Contoso.Second")
    body += f"\r\n--{BOUNDARY}--\r\n".encode()
    response = client.put(
        "/api/v2/package",
        body,
        content_type=MULTIPART_CONTENT,
        headers={"X-NuGet-ApiKey": publisher},
    )
    assert response.status_code == 201, response.content
    assert list(PackageVersion.objects.values_list("registration__package_id", flat=True)) == [
        "Contoso.First"
    ]


def test_push_of_an_invalid_package_is_400_and_stores_nothing(client, publisher):
    """ "400 | The provided package is invalid.\""""
    response = push(client, publisher, b"this is not a zip file")
    assert response.status_code == 400 and response.content
    assert not PackageVersion.objects.exists()


def test_push_of_an_existing_version_is_409(client, publisher):
    """ "409 | A package with the provided ID and version already exists"; "If the package
    with the provided ID and version already exists, nuget.org will reject the push.\""""
    data = pushed(client, publisher)
    response = push(client, publisher, nupkg(version="1.0"))  # the same version, written otherwise
    assert response.status_code == 409
    assert PackageVersion.objects.count() == 1
    assert b"".join(
        client.get(
            "/v3-flatcontainer/contoso.core/1.0.0/contoso.core.1.0.0.nupkg"
        ).streaming_content
    ) == (data)


def test_push_without_an_api_key_is_401(client):
    """overview.md: "401 | The provided credentials are invalid"; the key is "Required for
    push and delete" (`X-NuGet-ApiKey`)."""
    response = push(client, None)
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("ApiKey")
    assert not PackageVersion.objects.exists()


def test_push_with_a_key_that_may_not_push_this_id_is_403(client, alice):
    """overview.md: "403 | The action is not allowed given the provided credentials.\""""
    secret = make_key(alice, glob_patterns=["Fabrikam.*"])[1]
    response = push(client, secret, nupkg("Contoso.Core"))
    assert response.status_code == 403 and response["X-Galley-Reason"]
    assert not PackageVersion.objects.exists()


def test_push_with_a_bad_key_is_403(client):
    """overview.md: "403 | The action is not allowed given the provided credentials":
    a key that is not one is refused."""
    response = push(client, "gly_" + "x" * 38)
    assert response.status_code == 403
    assert not PackageVersion.objects.exists()


def test_publish_resource_refuses_other_methods(client, publisher):
    """ "The `PUT`, `POST` and `DELETE` HTTP methods are supported by this resource": GET on
    the push URL is 405, as is PUT on a version's URL."""
    assert client.get("/api/v2/package").status_code == 405
    pushed(client, publisher)
    response = client.put(
        "/api/v2/package/Contoso.Core/1.0.0", headers={"X-NuGet-ApiKey": publisher}
    )
    assert response.status_code == 405


# -------------------------------------------------------------------- delete


def test_delete_unlists_the_version(feed, client, publisher):
    """ "DELETE https://www.nuget.org/api/v2/package/{ID}/{VERSION}"; "nuget.org interprets the
    package delete request as an "unlist". … the package is still available for existing
    consumers … but no longer appears in search results". Galley does the same.

    Deliberate difference: the docs give 204 for success; Galley answers 200, as nuget.org
    does (every client accepts any 2xx)."""
    pushed(client, publisher)
    response = unlist(client, publisher)
    assert response.status_code == 200
    assert PackageVersion.objects.get().listed is False
    assert feed.get("/query", {"q": "contoso"}).json()["totalHits"] == 0
    url = "/v3-flatcontainer/contoso.core/1.0.0/contoso.core.1.0.0.nupkg"
    assert feed.get(url).status_code == 200


def test_delete_of_an_unknown_id_or_version_is_404(client, publisher):
    """ "404 | No package with the provided `ID` and `VERSION` exists.\""""
    pushed(client, publisher)
    assert unlist(client, publisher, version="9.9.9").status_code == 404
    assert unlist(client, publisher, package_id="Nobody.Here").status_code == 404
    assert PackageVersion.objects.get().listed is True


def test_delete_without_an_api_key_is_401(client, publisher):
    """`X-NuGet-ApiKey` is required: without it, 401 and nothing changes."""
    pushed(client, publisher)
    assert client.delete("/api/v2/package/Contoso.Core/1.0.0").status_code == 401
    assert PackageVersion.objects.get().listed is True


def test_delete_with_a_key_without_the_unlist_scope_is_403(client, alice, publisher):
    """A key whose scopes do not allow unlisting: 403, and nothing changes."""
    pushed(client, publisher)
    push_only = make_key(alice, scopes=["package:push"])[1]
    assert unlist(client, push_only).status_code == 403
    assert PackageVersion.objects.get().listed is True


def test_delete_of_someone_elses_package_is_403(client, publisher, dana):
    """The key's owner does not own the package: 403, nothing changes."""
    pushed(client, publisher)
    danas = make_key(dana, scopes=["package:unlist"])[1]
    assert unlist(client, danas).status_code == 403
    assert PackageVersion.objects.get().listed is True


# -------------------------------------------------------------------- relist


def test_relist_is_post_and_answers_200(feed, client, publisher):
    """ "POST https://www.nuget.org/api/v2/package/{ID}/{VERSION}"; "200 | The package is now
    listed"; it is "once again visible in search results"."""
    pushed(client, publisher)
    unlist(client, publisher)
    response = unlist(client, publisher, method="post")
    assert response.status_code == 200
    assert PackageVersion.objects.get().listed is True
    assert feed.get("/query", {"q": "contoso"}).json()["totalHits"] == 1


def test_relist_of_a_listed_version_still_succeeds(client, publisher):
    """ "If the package is already listed, the request still succeeds.\""""
    pushed(client, publisher)
    assert unlist(client, publisher, method="post").status_code == 200
    assert PackageVersion.objects.get().listed is True


def test_relist_of_an_unknown_id_or_version_is_404(client, publisher):
    """ "404 | No package with the provided `ID` and `VERSION` exists.\""""
    pushed(client, publisher)
    assert unlist(client, publisher, version="9.9.9", method="post").status_code == 404
    assert unlist(client, publisher, package_id="Nobody.Here", method="post").status_code == 404


# ------------------------------------------------------------- symbol packages


def test_symbol_push_url_is_the_advertised_one_and_answers_201(client, publisher):
    """ "PUT https://www.nuget.org/api/v2/symbolpackage" (the `SymbolPackagePublish/4.9.0`
    `@id`); "The request body for the symbol push is same as with the request body of a
    package push request"; "201 | The symbol package was successfully pushed.\""""
    resources = {r["@type"]: r["@id"] for r in client.get("/v3/index.json").json()["resources"]}
    assert resources["SymbolPackagePublish/4.9.0"] == f"{BASE}/api/v2/symbolpackage"
    pushed(client, publisher, extra={DLL_PATH: DLL})
    response = push_symbols(client, publisher, snupkg())
    assert response.status_code == 201
    assert SymbolPackage.objects.get().version.version == "1.0.0"


def test_symbols_may_be_pushed_again(client, publisher):
    """ "Symbol packages with the same ID and version can be submitted multiple times.\""""
    pushed(client, publisher, extra={DLL_PATH: DLL})
    assert push_symbols(client, publisher, snupkg()).status_code == 201
    second = snupkg(description="Symbols, again.")
    assert push_symbols(client, publisher, second).status_code == 201
    assert SymbolPackage.objects.count() == 1


def test_symbols_without_their_package_are_404(client, publisher):
    """ "404 | A corresponding package with the provided ID and version does not exist.\""""
    response = push_symbols(client, publisher, snupkg("Nobody.Here"))
    assert response.status_code == 404
    assert not SymbolPackage.objects.exists()


def test_an_invalid_symbol_package_is_400(client, publisher):
    """ "400 | The provided symbol package is invalid.\""""
    pushed(client, publisher, extra={DLL_PATH: DLL})
    assert push_symbols(client, publisher, b"not a zip").status_code == 400
    assert push_symbols(client, publisher, nupkg()).status_code == 400  # not a symbols package
    assert not SymbolPackage.objects.exists()


def test_symbols_without_a_key_are_401(client, publisher):
    """ "401 | The user is not authorized to perform this action.\""""
    pushed(client, publisher, extra={DLL_PATH: DLL})
    response = client.put(
        "/api/v2/symbolpackage",
        encode_multipart(BOUNDARY, {"package": io.BytesIO(snupkg())}),
        content_type=MULTIPART_CONTENT,
    )
    assert response.status_code == 401
    assert not SymbolPackage.objects.exists()


def test_symbols_too_large_are_413(client, publisher, settings):
    """ "413 | The package is too large.\""""
    pushed(client, publisher, extra={DLL_PATH: DLL})
    settings.GALLEY_MAX_PACKAGE_SIZE = 100
    assert push_symbols(client, publisher, snupkg()).status_code == 413
    assert not SymbolPackage.objects.exists()


def test_symbols_are_available_at_once_so_never_409(client, publisher):
    """Deliberate difference: "409 | A symbol package … was pushed but it is not available
    yet" cannot happen: Galley validates a symbol package while it is pushed, and it is
    available once the push answers 201."""
    pushed(client, publisher, extra={DLL_PATH: DLL})
    for _attempt in range(2):
        assert push_symbols(client, publisher, snupkg()).status_code == 201
