"""The standard steps give a working site: `migrate` alone, then gunicorn, then sign in.

No `createcachetable`, no folder made by hand: a fresh data folder that does
not exist yet, production settings, the production gunicorn configuration.
"""

import http.cookiejar
import re
import secrets
import subprocess
import sys
import urllib.parse
import urllib.request

from tests.servers import ROOT, Instance

PASSWORD = "a long and unguessable passphrase"


def manage(env, *args, stdin=None):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_migrate_alone_then_gunicorn_signs_in(tmp_path):
    data = tmp_path / "fresh" / "var"  # does not exist yet, as on a fresh clone
    static = tmp_path / "static"
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "GALLEY_KEY_HASH_SECRET": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "GALLEY_HTTPS": "0",
        "GALLEY_DATA_DIR": str(data),
        "GALLEY_STATIC_ROOT": str(static),
        "GALLEY_EMAIL_BACKEND": "file",
        "GALLEY_EMAIL_FILE_PATH": str(tmp_path / "mail"),
    }
    migrated = manage(env, "migrate", "--noinput")
    assert migrated.returncode == 0, migrated.stderr
    collected = manage(env, "collectstatic", "--noinput", "-v", "0")
    assert collected.returncode == 0, collected.stderr
    created = manage(
        env,
        "shell",
        "-c",
        "from accounts.models import User;"
        "from allauth.account.models import EmailAddress;"
        f"u = User.objects.create_user('dana', 'dana@example.com', {PASSWORD!r});"
        "EmailAddress.objects.create(user=u, email=u.email, verified=True, primary=True)",
    )
    assert created.returncode == 0, created.stderr

    server = Instance("fresh-site", env, workers=1)
    try:
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        with opener.open(server.url + "/users/account/LogOn", timeout=30) as page:
            html = page.read().decode()
            login_url = page.url
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
        form = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": token, "login": "dana", "password": PASSWORD}
        ).encode()
        request = urllib.request.Request(login_url, data=form, headers={"Referer": login_url})
        with opener.open(request, timeout=30) as answer:
            assert answer.status == 200
            landed = answer.url
            body = answer.read().decode()
        assert "/users/account/LogOn" not in landed and "/accounts/login" not in landed, landed
        assert "dana" in body  # the user menu names who is signed in
        with opener.open(server.url + "/account/apikeys", timeout=30) as keys:
            assert keys.status == 200
    except Exception:
        print(server.log_tail())
        raise
    finally:
        server.stop()
