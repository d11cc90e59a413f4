"""The Trusted Publishing page, and its keys on the API Keys page."""

import pytest

from accounts.models import Membership, User
from apikeys.models import ApiKey
from audit.models import AuditEvent
from tests.conftest import sign_in
from tests.trustedpublishing.conftest import exchange, make_policy
from tests.trustedpublishing.issuer import github_claims
from trustedpublishing.models import Policy

pytestmark = pytest.mark.django_db

GITHUB_FORM = {
    "name": "Release",
    "owner": "alice",
    "provider": "github",
    "repository_owner": "contoso",
    "repository": "widgets",
    "workflow": "release.yml",
    "environment": "release",
}


@pytest.fixture
def contoso(alice, bob):
    organization = User.objects.create_organization("Contoso", admin=alice)
    Membership.objects.create(organization=organization, member=bob)
    return organization


def test_user_menu_and_api_keys_page_link_to_the_page(client, alice):
    sign_in(client, alice)
    page = client.get("/account/apikeys").content.decode()
    assert page.count('href="/account/trustedpublishing"') == 2  # menu and the notice


@pytest.mark.usefixtures("trusted_publishing")
def test_create_a_github_actions_policy(client, alice):
    sign_in(client, alice)
    response = client.post("/account/trustedpublishing", GITHUB_FORM)
    assert response.status_code == 302
    policy = Policy.objects.get()
    assert (policy.creator, policy.owner, policy.provider) == (alice, alice, "github")
    assert (policy.repository_owner, policy.repository, policy.workflow) == (
        "contoso",
        "widgets",
        "release.yml",
    )
    assert policy.environment == "release" and policy.enabled and not policy.is_pinned
    event = AuditEvent.objects.get(kind=AuditEvent.Kind.TRUSTED_PUBLISHING_CREATED)
    assert event.user == alice and event.details["policy"] == "Release"
    page = client.get("/account/trustedpublishing").content.decode()
    assert "contoso/widgets" in page and "release.yml" in page


@pytest.mark.usefixtures("trusted_publishing")
def test_create_a_gitlab_ci_policy_for_an_organization(client, bob, contoso):
    sign_in(client, bob)
    response = client.post(
        "/account/trustedpublishing",
        {
            "name": "Tags",
            "owner": "Contoso",
            "provider": "gitlab",
            "project_path": "contoso/widgets",
            "ref_type": "tag",
            "ref": "v1.0.0",
            # Fields of the other provider are ignored, not stored.
            "workflow": "leftover.yml",
        },
    )
    assert response.status_code == 302
    policy = Policy.objects.get()
    assert policy.owner == contoso and policy.creator == bob
    assert (policy.project_path, policy.ref_type, policy.ref, policy.workflow) == (
        "contoso/widgets",
        "tag",
        "v1.0.0",
        "",
    )


@pytest.mark.usefixtures("trusted_publishing")
@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"workflow": ""}, "workflow", "workflow file name"),
        ({"workflow": "release.sh"}, "workflow", "workflow file name"),
        ({"repository_owner": "con toso"}, "repository_owner", "GitHub user name"),
        ({"provider": "gitlab"}, "project_path", "project path"),
        ({"provider": "travis"}, "provider", "valid choice"),
        ({"environment": "prod\x07"}, "environment", "printable"),
        ({"name": ""}, "name", "required"),
    ],
)
def test_invalid_policy_is_refused_with_its_reason(client, alice, changes, field, words):
    sign_in(client, alice)
    response = client.post("/account/trustedpublishing", {**GITHUB_FORM, **changes})
    assert response.status_code == 400
    assert words in " ".join(response.context["form"].errors[field])
    assert not Policy.objects.exists()


@pytest.mark.usefixtures("trusted_publishing")
def test_workflow_path_is_reduced_to_its_file_name(client, alice):
    sign_in(client, alice)
    client.post(
        "/account/trustedpublishing", {**GITHUB_FORM, "workflow": ".github/workflows/ci.yaml"}
    )
    assert Policy.objects.get().workflow == "ci.yaml"


@pytest.mark.usefixtures("trusted_publishing")
def test_policy_names_are_unique_per_creator(client, alice):
    make_policy(alice, name="Release")
    sign_in(client, alice)
    response = client.post("/account/trustedpublishing", {**GITHUB_FORM, "name": "release"})
    assert response.status_code == 400
    assert Policy.objects.count() == 1


@pytest.mark.usefixtures("trusted_publishing")
def test_stranger_cannot_pick_an_organization_as_owner(client, charlie, contoso):
    sign_in(client, charlie)
    response = client.post("/account/trustedpublishing", {**GITHUB_FORM, "owner": "Contoso"})
    assert response.status_code == 400
    assert not Policy.objects.exists()


def test_page_says_the_feature_is_off_to_staff(client, alice, settings):
    settings.GALLEY_OIDC_AUDIENCE = None
    sign_in(client, alice)
    page = client.get("/account/trustedpublishing").content.decode()
    assert "not available on this server" in page and "GALLEY_OIDC_AUDIENCE" not in page
    alice.is_staff = True
    alice.save()
    page = client.get("/account/trustedpublishing").content.decode()
    assert "GALLEY_OIDC_AUDIENCE" in page
    assert client.post("/account/trustedpublishing", GITHUB_FORM).status_code == 403
    assert not Policy.objects.exists()


def test_signed_out_visitor_is_sent_to_sign_in(client):
    response = client.get("/account/trustedpublishing")
    assert response.status_code == 302 and "/users/account/LogOn" in response["Location"]


@pytest.mark.usefixtures("trusted_publishing")
def test_edit_a_policy_and_clear_the_pinned_ids_when_the_repository_changes(client, alice):
    policy = make_policy(alice, pinned_owner_id="1", pinned_repository_id="2")
    sign_in(client, alice)
    assert client.get(f"/account/trustedpublishing/{policy.pk}/edit").status_code == 200
    data = {**GITHUB_FORM, "workflow": "publish.yml"}
    del data["owner"]
    response = client.post(f"/account/trustedpublishing/{policy.pk}/edit", data)
    assert response.status_code == 302
    policy.refresh_from_db()
    assert policy.workflow == "publish.yml" and policy.is_pinned
    data["repository"] = "gadgets"
    client.post(f"/account/trustedpublishing/{policy.pk}/edit", data)
    policy.refresh_from_db()
    assert policy.repository == "gadgets" and not policy.is_pinned
    assert AuditEvent.objects.filter(kind=AuditEvent.Kind.TRUSTED_PUBLISHING_EDITED).count() == 2


@pytest.mark.usefixtures("trusted_publishing")
def test_stranger_gets_404_for_someone_elses_policy(client, alice, charlie):
    policy = make_policy(alice)
    sign_in(client, charlie)
    base = f"/account/trustedpublishing/{policy.pk}"
    assert client.get(f"{base}/edit").status_code == 404
    for action in ("edit", "disable", "enable", "delete"):
        assert client.post(f"{base}/{action}", GITHUB_FORM).status_code == 404
    policy.refresh_from_db()
    assert policy.enabled and policy.workflow == "release.yml"


@pytest.mark.usefixtures("trusted_publishing")
def test_former_member_gets_403_editing_or_enabling(client, alice, bob, contoso):
    policy = make_policy(bob, owner=contoso)
    Membership.objects.get(organization=contoso, member=bob).delete()
    policy.refresh_from_db()
    assert not policy.enabled
    sign_in(client, bob)
    base = f"/account/trustedpublishing/{policy.pk}"
    assert client.get(f"{base}/edit").status_code == 403
    assert client.post(f"{base}/enable").status_code == 403
    policy.refresh_from_db()
    assert not policy.enabled
    page = client.get("/account/trustedpublishing").content.decode()
    assert "You are no longer a member of Contoso" in page
    # Deleting one's own policy stays possible.
    assert client.post(f"{base}/delete").status_code == 302
    assert not Policy.objects.exists()


@pytest.mark.usefixtures("trusted_publishing")
def test_disable_revokes_its_keys_and_enable_lets_ci_exchange_again(
    client, alice, issuer, mailoutbox
):
    policy = make_policy(alice)
    secret = exchange(client, issuer.token(github_claims())).json()["apiKey"]
    sign_in(client, alice)
    mailoutbox.clear()
    assert client.post(f"/account/trustedpublishing/{policy.pk}/disable").status_code == 302
    assert not mailoutbox  # no "your key was revoked" e-mail per CI run's key
    policy.refresh_from_db()
    assert not policy.enabled and policy.disabled_reason == "creator"
    revoked = ApiKey.objects.find(secret)
    assert revoked.is_revoked and revoked.revoked_by == alice
    assert exchange(client, issuer.token(github_claims())).status_code == 403
    assert client.post(f"/account/trustedpublishing/{policy.pk}/enable").status_code == 302
    assert exchange(client, issuer.token(github_claims())).status_code == 200
    kinds = set(AuditEvent.objects.values_list("kind", flat=True))
    assert {"tp.policy_disabled", "tp.policy_enabled", "key.revoked"} <= kinds


@pytest.mark.usefixtures("trusted_publishing")
def test_delete_revokes_and_removes_its_keys(client, alice, issuer):
    policy = make_policy(alice)
    secret = exchange(client, issuer.token(github_claims())).json()["apiKey"]
    sign_in(client, alice)
    assert client.post(f"/account/trustedpublishing/{policy.pk}/delete").status_code == 302
    assert not Policy.objects.exists()
    assert ApiKey.objects.find(secret) is None
    revoked = AuditEvent.objects.get(kind="key.revoked")
    assert (revoked.user, revoked.actor, revoked.ip_address) == (alice, alice, "127.0.0.1")
    assert AuditEvent.objects.filter(kind="tp.policy_deleted").count() == 1


@pytest.mark.usefixtures("trusted_publishing")
def test_api_keys_page_groups_the_keys_under_their_policy(client, alice, issuer, mailoutbox):
    from tests.factories import make_key

    policy = make_policy(alice)
    make_key(alice, name="Manual key")
    for _run in range(3):
        exchange(client, issuer.token(github_claims()))
    sign_in(client, alice)
    response = client.get("/account/apikeys")
    page = response.content.decode()
    assert "Keys from Trusted Publishing" in page
    group = page[page.index(f'id="policy-keys-{policy.pk}"') :]
    assert "Release" in group and "contoso/widgets" in group
    # One entry for the policy, not one per run; the manual key keeps its own.
    assert [key.name for key in response.context["keys"]] == ["Manual key"]
    assert page.count("/regenerate") == 1
    assert not mailoutbox  # no e-mail per CI run


@pytest.mark.usefixtures("trusted_publishing")
def test_trusted_publishing_keys_cannot_be_edited_or_regenerated(client, alice, issuer):
    make_policy(alice)
    secret = exchange(client, issuer.token(github_claims())).json()["apiKey"]
    key = ApiKey.objects.find(secret)
    sign_in(client, alice)
    assert (
        client.post(f"/account/apikeys/{key.pk}/regenerate", {"hint": key.hint}).status_code == 404
    )
    assert (
        client.post(f"/account/apikeys/{key.pk}/edit", {"glob_patterns": "X.*"}).status_code == 404
    )
    key.refresh_from_db()
    assert key.glob_patterns == ["*"] and ApiKey.objects.find(secret) == key
    # Revoking one stays possible.
    assert client.post(f"/account/apikeys/{key.pk}/revoke").status_code == 302
    key.refresh_from_db()
    assert key.is_revoked


@pytest.mark.usefixtures("trusted_publishing")
def test_expiry_notices_skip_trusted_publishing_keys(client, alice, issuer, mailoutbox):
    from apikeys.notices import send_expiry_notices

    make_policy(alice)
    exchange(client, issuer.token(github_claims()))
    assert send_expiry_notices() == 0
    assert not mailoutbox


@pytest.mark.usefixtures("trusted_publishing")
def test_page_query_count_does_not_grow_with_policies(client, alice, django_assert_max_num_queries):
    for number in range(5):
        make_policy(alice, name=f"Release {number}")
    sign_in(client, alice)
    client.get("/account/trustedpublishing")  # warm the session
    # session, user, policies (+ owners), owners the user may act for (form and
    # membership check), messages; the same for one policy or fifty.
    with django_assert_max_num_queries(8):
        response = client.get("/account/trustedpublishing")
    assert response.status_code == 200


@pytest.mark.usefixtures("trusted_publishing")
def test_each_change_to_a_policy_is_audited_with_who_where_and_what(client, alice, dana, issuer):
    """Create, edit, disable, enable and delete, each in alice's log with her address and
    the policy's details; dana's policy, and its key, are untouched throughout."""
    danas = make_policy(dana, name="Dana's release", repository_owner="dana")
    dana_claims = github_claims(
        repository="dana/widgets",
        workflow_ref="dana/widgets/.github/workflows/release.yml@refs/heads/main",
    )
    dana_secret = exchange(client, issuer.token(dana_claims), "dana").json()["apiKey"]
    sign_in(client, alice)
    client.post("/account/trustedpublishing", GITHUB_FORM)
    policy = Policy.objects.get(creator=alice)
    edit = {**GITHUB_FORM, "environment": "production"}
    del edit["owner"]
    client.post(f"/account/trustedpublishing/{policy.pk}/edit", edit)
    secret = exchange(client, issuer.token(github_claims(environment="production"))).json()[
        "apiKey"
    ]
    base = f"/account/trustedpublishing/{policy.pk}"
    for action in ("disable", "disable", "enable", "delete"):
        assert client.post(f"{base}/{action}").status_code == 302
    details = {
        "policy": "Release",
        "owner": "alice",
        "provider": "github",
        "subject": "contoso/widgets · release.yml · production",
    }
    events = AuditEvent.objects.filter(kind__startswith="tp.policy_").order_by("pk")
    assert [event.kind for event in events] == [
        "tp.policy_created",
        "tp.policy_edited",
        "tp.policy_disabled",
        "tp.policy_enabled",
        "tp.policy_deleted",
    ]
    for event in events:
        assert (event.user, event.actor, event.ip_address) == (alice, alice, "127.0.0.1")
        expected = {**details, "subject": "contoso/widgets · release.yml · release"}
        if event.kind != "tp.policy_created":
            expected = details
        if event.kind == "tp.policy_disabled":
            expected = {**details, "reason": "creator"}
        assert event.details == expected, event.kind
    revoked = AuditEvent.objects.get(kind="key.revoked")
    assert (revoked.actor, revoked.ip_address, revoked.user) == (alice, "127.0.0.1", alice)
    assert ApiKey.objects.find(secret) is None
    danas.refresh_from_db()
    assert danas.enabled and not ApiKey.objects.find(dana_secret).is_revoked


@pytest.mark.usefixtures("trusted_publishing")
def test_enabling_clears_why_a_policy_was_disabled(alice, rf):
    from trustedpublishing import flows

    policy = make_policy(alice)
    assert flows.disable(policy, reason="creator") is True
    assert (policy.enabled, policy.disabled_reason) == (False, "creator")
    assert flows.disable(policy, reason="creator_left") is False
    policy.refresh_from_db()
    assert (policy.enabled, policy.disabled_reason) == (False, "creator")
    request = rf.post("/")
    request.user = alice
    flows.enable(request, policy)
    assert (policy.enabled, policy.disabled_reason) == (True, "")
    policy.refresh_from_db()
    assert (policy.enabled, policy.disabled_reason) == (True, "")


def test_leaving_an_organization_stops_only_ones_own_policies_for_it(
    alice, bob, charlie, dana, fabrikam, contoso
):
    Membership.objects.create(organization=contoso, member=charlie)
    Membership.objects.create(organization=fabrikam, member=bob)
    bobs_for_contoso = make_policy(bob, owner=contoso)
    bobs_for_fabrikam = make_policy(bob, name="Fabrikam", owner=fabrikam)
    bobs_own = make_policy(bob, name="Mine")
    charlies_for_contoso = make_policy(charlie, owner=contoso)
    Membership.objects.get(organization=contoso, member=bob).delete()
    states = {
        policy.pk: (policy.enabled, policy.disabled_reason) for policy in Policy.objects.all()
    }
    assert states == {
        bobs_for_contoso.pk: (False, "creator_left"),
        bobs_for_fabrikam.pk: (True, ""),
        bobs_own.pk: (True, ""),
        charlies_for_contoso.pk: (True, ""),
    }


@pytest.mark.usefixtures("trusted_publishing")
def test_purging_deletes_only_the_expired_keys(client, alice, issuer):
    from datetime import timedelta

    import time_machine
    from django.core.management import call_command
    from django.utils import timezone

    make_policy(alice)
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        exchange(client, issuer.token(github_claims()))
        traveller.shift(timedelta(minutes=30))
        fresh = exchange(client, issuer.token(github_claims())).json()["apiKey"]
        traveller.shift(timedelta(minutes=31))
        from io import StringIO

        out = StringIO()
        call_command("purge_trusted_publishing_keys", stdout=out)
    assert out.getvalue() == "Deleted 1 expired Trusted Publishing keys and 0 used CI tokens.\n"
    assert list(ApiKey.objects.all()) == [ApiKey.objects.find(fresh)]
