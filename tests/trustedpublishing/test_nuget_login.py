"""The NuGet/login GitHub Action against Galley, over real HTTP.

The action (github.com/NuGet/login, src/index.ts) asks GitHub for an OIDC token
with its `audience` input, then POSTs to its `token-service-url` input:

    Content-Type: application/json
    Authorization: Bearer <OIDC token>
    User-Agent: nuget/login-action
    {"username":"<user>","tokenType":"ApiKey"}

On 200 it JSON-parses the body and takes `apiKey` (failing when it is missing);
otherwise it JSON-parses the body and shows `error`. These tests send exactly
that and read the answer exactly so. The last one goes on to push the key with
the real NuGet client (nuget.exe 5.8) to Galley under gunicorn.
"""

import json
import urllib.error
import urllib.request

import pytest

from packages.models import PackageRegistration
from tests.trustedpublishing.conftest import AUDIENCE, make_policy
from tests.trustedpublishing.issuer import github_claims

pytestmark = pytest.mark.django_db(transaction=True)


class ActionFailed(Exception):
    pass


def nuget_login(token_service_url: str, oidc_token: str, user: str) -> str:
    """What the action does with the token it got from GitHub; returns NUGET_API_KEY."""
    body = json.dumps({"username": user, "tokenType": "ApiKey"}, separators=(",", ":"))
    request = urllib.request.Request(
        token_service_url,
        data=body.encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Bearer {oidc_token}",
            "User-Agent": "nuget/login-action",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    if status != 200:
        message = f"Token exchange failed (HTTP {status}) at {token_service_url}"
        try:
            error_json = json.loads(text)
            message += f": {error_json['error']}" if isinstance(error_json, dict) else f": {text}"
        except ValueError:
            message += f": {text}"
        raise ActionFailed(message)
    data = json.loads(text)
    if not data.get("apiKey"):
        raise ActionFailed('Response did not contain "apiKey".')
    return data["apiKey"]


@pytest.fixture
def live_trusted_publishing(trusted_publishing, live_server):
    return f"{live_server.url}/api/v2/token"


def test_the_actions_request_gets_a_key_it_can_read(live_trusted_publishing, alice, issuer):
    make_policy(alice)
    # The token the action asked GitHub for, with `audience: <GALLEY_OIDC_AUDIENCE>`.
    oidc_token = issuer.token(github_claims(aud=AUDIENCE))
    api_key = nuget_login(live_trusted_publishing, oidc_token, "alice")
    assert api_key.startswith("gly_")


def test_the_action_shows_galleys_reason(live_trusted_publishing, alice, issuer):
    make_policy(alice)
    # The action's default audience, when its `audience` input is left out.
    oidc_token = issuer.token(github_claims(aud="https://www.nuget.org"))
    with pytest.raises(ActionFailed) as failure:
        nuget_login(live_trusted_publishing, oidc_token, "alice")
    assert "(HTTP 401)" in str(failure.value)
    assert f"audience is not {AUDIENCE}" in str(failure.value)


@pytest.mark.client
def test_exchanged_key_pushes_with_the_real_nuget_client(
    trusted_publishing, issuer, start_galley, nuget58, alice
):
    """CI's whole path: NuGet/login against Galley under gunicorn, then `nuget push`."""
    server = start_galley(
        GALLEY_OIDC_AUDIENCE=AUDIENCE,
        GALLEY_OIDC_GITHUB_ISSUER=issuer.url,
    )
    make_policy(alice)
    api_key = nuget_login(f"{server.url}/api/v2/token", issuer.token(github_claims()), "alice")
    package = nuget58.pack("Contoso.Widgets", "1.0.0")
    result = nuget58.run(
        "push", str(package), "-Source", f"{server.url}/v3/index.json", "-ApiKey", api_key
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{output}\n--- server log ---\n{server.log_tail()}"
    assert api_key not in output
    registration = PackageRegistration.objects.get(package_id="Contoso.Widgets")
    assert list(registration.owners.all()) == [alice]
    # The server never logs the token or the key.
    assert api_key not in server.log_tail()
