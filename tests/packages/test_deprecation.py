"""Deprecating versions from the Manage page (/packages/{id}/Manage), as nuget.org does:
who may, what is checked, what is recorded, and what readers see (page, feed, search)."""

import pytest

from accounts.models import Membership, User
from audit.models import AuditEvent
from packages import feed, lifecycle
from packages.models import PackageRegistration, PackageVersion
from tests.factories import PackageRegistrationFactory
from tests.packages.builders import add_version

pytestmark = pytest.mark.django_db

URL = "/packages/Contoso.Core/Manage/Deprecation"
MANAGE = "/packages/Contoso.Core/Manage"
INDEX = "/v3/registration/contoso.core/index.json"


@pytest.fixture(autouse=True)
def fresh_memo():
    feed._MEMO.clear()


@pytest.fixture
def contoso(alice, bob):
    organization = User.objects.create_organization("Contoso", admin=alice)
    Membership.objects.create(organization=organization, member=bob)  # a collaborator
    return organization


@pytest.fixture
def versions(contoso, dana):
    registration = PackageRegistrationFactory(package_id="Contoso.Core", owners=[contoso])
    alternate = PackageRegistrationFactory(package_id="Contoso.Next", owners=[dana])
    add_version(alternate, "2.0.0")
    return {
        "1.0.0": add_version(registration, "1.0.0"),
        "1.1.0": add_version(registration, "1.1.0"),
        "2.0.0": add_version(registration, "2.0.0"),
    }


def deprecate(client, *versions, reasons=("Legacy",), **fields):
    return client.post(
        URL,
        {
            "versions": [str(v.pk) for v in versions],
            "reasons": list(reasons),
            "action": "deprecate",
            **fields,
        },
    )


def fresh(version):
    return PackageVersion.objects.get(pk=version.pk)


def test_owner_deprecates_two_versions_with_an_alternate_and_a_message(
    client, alice, contoso, versions
):
    client.force_login(alice)
    revision = PackageRegistration.objects.get(package_id="Contoso.Core").revision
    response = deprecate(
        client,
        versions["1.0.0"],
        versions["1.1.0"],
        reasons=["CriticalBugs", "Legacy"],
        alternate_id="contoso.next",
        alternate_version="2.0",
        message="Use Contoso.Next.",
    )
    assert response.status_code == 302 and response["Location"] == MANAGE + "#deprecation"
    for text in ("1.0.0", "1.1.0"):
        version = fresh(versions[text])
        assert version.deprecation_reasons == ["Legacy", "CriticalBugs"]  # nuget.org's order
        assert version.deprecation_alternate_id == "Contoso.Next"  # as registered
        assert version.deprecation_alternate_version == "2.0.0"  # normalized
        assert version.deprecation_message == "Use Contoso.Next."
    assert fresh(versions["2.0.0"]).deprecation_reasons == []
    events = AuditEvent.objects.filter(kind=AuditEvent.Kind.PACKAGE_DEPRECATED)
    assert sorted(events.values_list("package_version", flat=True)) == ["1.0.0", "1.1.0"]
    event = events.first()
    assert event.user == alice and event.subjects.filter(pk=contoso.pk).exists()
    assert event.details["via"] == "web" and event.details["reasons"] == ["Legacy", "CriticalBugs"]
    assert PackageRegistration.objects.get(package_id="Contoso.Core").revision == revision + 1
    page = client.get(MANAGE, follow=True).content.decode()
    assert "The deprecation of 2 versions of Contoso.Core was saved." in page


def test_undeprecate_clears_everything_and_is_audited(client, alice, versions):
    client.force_login(alice)
    deprecate(client, versions["1.0.0"], alternate_id="Contoso.Next", message="Gone.")
    response = client.post(URL, {"versions": [versions["1.0.0"].pk], "action": "undeprecate"})
    assert response.status_code == 302
    version = fresh(versions["1.0.0"])
    assert version.deprecation_reasons == [] and version.deprecation_message == ""
    assert version.deprecation_alternate_id == ""
    event = AuditEvent.objects.get(kind=AuditEvent.Kind.PACKAGE_UNDEPRECATED)
    assert "reasons" not in event.details  # an undeprecation has none to name


def test_saving_the_same_deprecation_again_records_nothing(client, alice, versions):
    client.force_login(alice)
    deprecate(client, versions["1.0.0"])
    revision = PackageRegistration.objects.get(package_id="Contoso.Core").revision
    deprecate(client, versions["1.0.0"])
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.PACKAGE_DEPRECATED).count() == 1
    assert PackageRegistration.objects.get(package_id="Contoso.Core").revision == revision


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"reasons": []}, "Select at least one reason."),
        ({"reasons": ["Obsolete"]}, "Select the reasons from the list."),
        ({"alternate_id": "Nope.Missing"}, "The alternate package Nope.Missing does not exist."),
        (
            {"alternate_id": "Contoso.Next", "alternate_version": "9.9.9"},
            "The alternate package Contoso.Next has no version 9.9.9.",
        ),
        (
            {"alternate_id": "Contoso.Next", "alternate_version": "not a version"},
            "The alternate package Contoso.Next has no version not a version.",
        ),
        ({"alternate_version": "1.0.0"}, "Enter the alternate package’s ID."),
        ({"message": "x" * 4001}, "The message may have at most 4000 characters."),
    ],
)
def test_bad_input_is_refused_with_its_reason_and_changes_nothing(
    client, alice, versions, fields, message
):
    client.force_login(alice)
    response = deprecate(client, versions["1.0.0"], **fields)
    assert response.status_code == 302
    assert message in client.get(MANAGE).content.decode()
    assert fresh(versions["1.0.0"]).deprecation_reasons == []
    assert not AuditEvent.objects.filter(kind=AuditEvent.Kind.PACKAGE_DEPRECATED).exists()


def test_no_version_chosen_is_refused(client, alice, versions):
    client.force_login(alice)
    deprecate(client)
    assert "Select at least one version." in client.get(MANAGE).content.decode()


def test_a_version_of_another_package_is_not_touched(client, alice, versions, dana):
    client.force_login(alice)
    other = PackageVersion.objects.get(registration__package_id="Contoso.Next")
    deprecate(client, other)
    assert fresh(other).deprecation_reasons == []


def test_a_collaborator_is_refused_with_403(client, bob, versions):
    client.force_login(bob)
    assert deprecate(client, versions["1.0.0"]).status_code == 403
    assert fresh(versions["1.0.0"]).deprecation_reasons == []


def test_a_stranger_gets_404(client, charlie, versions):
    client.force_login(charlie)
    assert deprecate(client, versions["1.0.0"]).status_code == 404
    assert fresh(versions["1.0.0"]).deprecation_reasons == []


def test_sign_in_is_needed_and_get_is_not_allowed(client, alice, versions):
    assert deprecate(client, versions["1.0.0"]).status_code == 302
    assert fresh(versions["1.0.0"]).deprecation_reasons == []
    client.force_login(alice)
    assert client.get(URL).status_code == 405


def test_the_manage_page_has_the_deprecation_section(client, alice, versions):
    client.force_login(alice)
    deprecate(client, versions["1.0.0"])
    content = client.get(MANAGE).content.decode()
    assert 'id="deprecation"' in content
    assert f'name="versions" value="{versions["1.0.0"].pk}"' in content
    for reason in ("Legacy", "CriticalBugs", "Other"):
        assert f'name="reasons" value="{reason}"' in content
    assert "This package is legacy and is no longer maintained" in content
    assert 'name="alternate_id"' in content and 'name="message"' in content
    assert 'value="undeprecate"' in content


@pytest.mark.parametrize(
    "reasons, sentence",
    [
        (
            ["Legacy"],
            "This package has been deprecated as it is legacy and is no longer maintained.",
        ),
        (["CriticalBugs"], "This package has been deprecated as it has critical bugs."),
        (
            ["Legacy", "CriticalBugs"],
            "This package has been deprecated as it is legacy and has critical bugs.",
        ),
        (["Other"], "This package has been deprecated."),
    ],
)
def test_the_package_page_shows_nuget_orgs_banner(client, alice, versions, reasons, sentence):
    client.force_login(alice)
    deprecate(
        client,
        versions["1.0.0"],
        reasons=reasons,
        alternate_id="Contoso.Next",
        message="Moved <b>away</b>.",
    )
    client.logout()
    content = client.get("/packages/Contoso.Core/1.0.0").content.decode()
    assert sentence in content
    assert '<a href="/packages/Contoso.Next">Contoso.Next</a>' in content
    assert "Moved &lt;b&gt;away&lt;/b&gt;." in content
    assert sentence not in client.get("/packages/Contoso.Core/2.0.0").content.decode()


def test_the_banner_in_french(client, alice, versions):
    client.force_login(alice)
    deprecate(client, versions["1.0.0"], alternate_id="Contoso.Next", alternate_version="2.0.0")
    content = client.get(
        "/packages/Contoso.Core/1.0.0", headers={"accept-language": "fr"}
    ).content.decode()
    assert "Ce package est déprécié, car il est hérité et n’est plus maintenu." in content
    assert '<a href="/packages/Contoso.Next/2.0.0">Contoso.Next 2.0.0</a>' in content


def test_the_registration_and_search_carry_the_deprecation(client, alice, versions):
    client.force_login(alice)
    deprecate(
        client,
        versions["2.0.0"],
        reasons=["Other"],
        alternate_id="Contoso.Next",
        message="Use Next.",
    )
    items = client.get(INDEX).json()["items"][0]["items"]
    entries = {item["catalogEntry"]["version"]: item["catalogEntry"] for item in items}
    assert entries["2.0.0"]["deprecation"] == {
        "reasons": ["Other"],
        "message": "Use Next.",
        "alternatePackage": {"id": "Contoso.Next", "range": "*"},
    }
    assert "deprecation" not in entries["1.0.0"]
    result = client.get("/query", {"q": "Contoso.Core"}).json()["data"]
    core = next(item for item in result if item["id"] == "Contoso.Core")
    assert core["deprecation"]["reasons"] == ["Other"]


def test_set_deprecation_is_the_only_writer(alice, versions):
    """The lifecycle's function, called directly (the admin or a command would): a
    version outside the first version's package is left alone."""
    actor = lifecycle.Actor(user=alice, channel=lifecycle.Channel.ADMIN)
    other = PackageVersion.objects.get(registration__package_id="Contoso.Next")
    changed = lifecycle.set_deprecation(
        actor, [versions["1.0.0"], other], lifecycle.Deprecation(("Legacy",))
    )
    assert changed == [versions["1.0.0"]]
    assert fresh(other).deprecation_reasons == []


def test_versions_already_deprecated_so_are_passed_over_and_the_others_changed(alice, versions):
    actor = lifecycle.Actor(user=alice, channel=lifecycle.Channel.ADMIN)
    legacy = lifecycle.Deprecation(("Legacy",))
    # The middle one, so that it is passed over between two others in either order.
    assert lifecycle.set_deprecation(actor, [versions["1.1.0"]], legacy) == [versions["1.1.0"]]
    all_three = list(versions.values())
    changed = lifecycle.set_deprecation(actor, all_three, legacy)
    assert sorted(version.version for version in changed) == ["1.0.0", "2.0.0"]
    assert all(fresh(version).deprecation_reasons == ["Legacy"] for version in all_three)
    events = AuditEvent.objects.filter(kind=AuditEvent.Kind.PACKAGE_DEPRECATED)
    assert [event.details["reasons"] for event in events] == [["Legacy"]] * 3


def test_undeprecating_clears_the_message_and_alternate_whatever_is_sent(alice, versions):
    """No reasons: nothing of a deprecation is kept, whatever else the caller passes."""
    actor = lifecycle.Actor(user=alice, channel=lifecycle.Channel.ADMIN)
    version = versions["1.0.0"]
    full = {"message": "Gone.", "alternate_id": "Contoso.Next", "alternate_version": "2.0.0"}
    lifecycle.set_deprecation(actor, [version], lifecycle.Deprecation(("Other",), **full))
    assert fresh(version).deprecation_alternate_version == "2.0.0"
    lifecycle.set_deprecation(actor, [version], lifecycle.Deprecation((), **full))
    version = fresh(version)
    assert version.deprecation_reasons == []
    assert (
        version.deprecation_message,
        version.deprecation_alternate_id,
        version.deprecation_alternate_version,
    ) == ("", "", "")
