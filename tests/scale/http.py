"""A tiny HTTP client for the scale tests: cookies, CSRF tokens and multipart PUTs."""

import http.client
import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request

from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart

HOST = "galley.test"


class Browser:
    """Signs in and posts forms like a browser would (cookies, CSRF token)."""

    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect()
        )

    def request(self, method: str, path: str, data: dict | None = None, base: str | None = None):
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        request = urllib.request.Request((base or self.base) + path, data=body, method=method)
        # Behind a load balancer every instance sees the same Host.
        request.add_header("Host", HOST)
        request.add_header("Referer", f"http://{HOST}{path}")
        try:
            with self.opener.open(request, timeout=20) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def csrf(self) -> str:
        return next(cookie.value for cookie in self.jar if cookie.name == "csrftoken")

    def post_form(self, path: str, data: dict, base: str | None = None):
        return self.request("POST", path, {**data, "csrfmiddlewaretoken": self.csrf()}, base=base)

    def sign_in(self, username: str, password: str, base: str | None = None):
        self.request("GET", "/users/account/LogOn", base=base)
        return self.request(
            "POST",
            "/users/account/LogOn",
            {"login": username, "password": password, "csrfmiddlewaretoken": self.csrf()},
            base=base,
        )


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def push(base: str, secret: str, package: bytes) -> tuple[int, str, dict]:
    host, port = urllib.parse.urlsplit(base).netloc.split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=20)
    try:
        connection.request(
            "PUT",
            "/api/v2/package",
            body=encode_multipart(BOUNDARY, {"package": _named(package)}),
            headers={"X-NuGet-ApiKey": secret, "Content-Type": MULTIPART_CONTENT},
        )
        response = connection.getresponse()
        return response.status, response.read().decode(), dict(response.getheaders())
    finally:
        connection.close()


def _named(data: bytes):
    import io

    stream = io.BytesIO(data)
    stream.name = "package.nupkg"
    return stream


def get(base: str, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(base + path, timeout=20) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


TOO_MANY = re.compile(r"Too many failed sign-ins")
