"""The in-process part of the benchmark, run in its own interpreter by bench.run.

Sets Django up with the benchmark settings (the environment names the
database), migrates, creates the cache table, creates a user with about a
thousand keys plus the keys the HTTP part needs, times the key checks and
writes the secrets and timings as JSON to the path given as argument.

    python -m bench.inprocess OUT.json
"""

import inspect
import json
import sqlite3
import sys
import time
import timeit

FILLER_KEYS = 1000
REPEAT = 5
# Calls per run: NUMBER, or fewer for slow calls so that a run lasts about
# RUN_SECONDS (but never fewer than MIN_NUMBER); the whole part stays short.
NUMBER = 2000
MIN_NUMBER = 200
RUN_SECONDS = 0.15


def _calls_per_run(call) -> int:
    call()  # warm caches (imports, translations, the connection)
    started = time.perf_counter()
    for _ in range(10):
        call()
    each = (time.perf_counter() - started) / 10
    return max(MIN_NUMBER, min(NUMBER, int(RUN_SECONDS / each)))


def _best_us(calls: dict) -> dict:
    """Microseconds per call of each function, the best of REPEAT runs; and calls per run.

    The runs go round-robin over the functions, so that all of them are
    measured across the same stretch of time even if the machine's speed drifts.
    """
    numbers = {name: _calls_per_run(call) for name, call in calls.items()}
    best = dict.fromkeys(calls, float("inf"))
    for _ in range(REPEAT):
        for name, call in calls.items():
            seconds = timeit.Timer(call).timeit(number=numbers[name])
            best[name] = min(best[name], seconds / numbers[name])
    return {name: (best[name] * 1e6, numbers[name]) for name in calls}


def _seed():
    from django.db import transaction

    from accounts.models import User
    from apikeys.models import ApiKey, Scope

    user = User.objects.create_user("bench", "bench@example.com", password=None)

    def key(name, globs, scopes=(Scope.PUSH,)):
        return ApiKey.objects.create_key(
            holder=user,
            owner=user,
            name=name,
            scopes=list(scopes),
            glob_patterns=list(globs),
            packages=[],
            expires_in_days=365,
        )

    with transaction.atomic():
        filler = [key(f"filler-{n:04d}", ["Bench.*"]) for n in range(FILLER_KEYS)]
        _push_key, push_secret = key("push", ["*"])
        revoked_key, revoked_secret = key("revoked", ["*"])
        _other_key, other_secret = key("out-of-pattern", ["Fabrikam.*"])
    revoke = {"by": user, "reason": "benchmark"}
    if "source" in inspect.signature(revoked_key.revoke).parameters:
        revoke["source"] = "holder"
    revoked_key.revoke(**revoke)
    probe_key, probe_secret = filler[FILLER_KEYS // 2]
    return {
        "keys": ApiKey.objects.count(),
        "probe_pk": probe_key.pk,
        "secrets": {
            "probe": probe_secret,
            "push": push_secret,
            "revoked": revoked_secret,
            "out_of_pattern": other_secret,
        },
    }


def _malformed(secret: str) -> str:
    # Same length and alphabet, wrong checksum: only the CRC check turns it away.
    last = "A" if secret[-1] != "A" else "B"
    return secret[:-1] + last


def _unknown(secret: str) -> str:
    from apikeys import tokens

    return tokens.generate(secret[:4])


def _authenticate_call(secret: str):
    """A no-argument call of publish.authenticate for `secret`.

    authenticate takes either the header's value or the request (and reads the
    header itself); in that case the request is built here, once, outside the
    timed loop.
    """
    from django.test import RequestFactory

    from packages.flows import publish

    first = next(iter(inspect.signature(publish.authenticate).parameters))
    if first != "request":
        return lambda: publish.authenticate(secret)
    request = RequestFactory().put(
        "/api/v2/package",
        HTTP_HOST="127.0.0.1",
        HTTP_X_NUGET_APIKEY=secret,
        HTTP_USER_AGENT="NuGet Command Line/6.0 (bench)",
    )
    return lambda: publish.authenticate(request)


def _time_key_checks(seed) -> dict:
    from django.db import connection

    from apikeys.models import ApiKey

    pk = seed["probe_pk"]
    valid = seed["secrets"]["probe"]
    revoked = seed["secrets"]["revoked"]
    malformed = _malformed(valid)
    unknown = _unknown(valid)
    assert ApiKey.objects.find(valid).pk == pk
    assert ApiKey.objects.find(malformed) is None
    assert ApiKey.objects.find(unknown) is None

    def bare_orm():
        return ApiKey.objects.filter(pk=pk).values_list("pk", flat=True).first()

    def bare_cursor():
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM apikeys_apikey WHERE id = %s", [pk])
            return cursor.fetchone()

    def refused(secret):
        call = _authenticate_call(secret)

        def refuse():
            _key, refusal = call()
            if refusal is None:
                raise AssertionError("the key was accepted")

        return refuse

    calls = {
        "bare_orm": bare_orm,
        "bare_cursor": bare_cursor,
        "find_valid": lambda: ApiKey.objects.find(valid),
        "authenticate_valid": _authenticate_call(valid),
        "authenticate_revoked": refused(revoked),
        "find_unknown": lambda: ApiKey.objects.find(unknown),
        "find_malformed": lambda: ApiKey.objects.find(malformed),
        "authenticate_malformed": refused(malformed),
    }
    return _best_us(calls)


def _database() -> dict:
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            version = cursor.fetchone()[0].split()[0]
        return {"vendor": "postgresql", "name": "PostgreSQL", "version": version}
    return {"vendor": connection.vendor, "name": "SQLite", "version": sqlite3.sqlite_version}


def main(out_path: str) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    call_command("createcachetable", verbosity=0)
    seed = _seed()
    result = {
        "database": _database(),
        "keys": seed["keys"],
        "secrets": seed["secrets"],
        "timings": _time_key_checks(seed),
        "repeat": REPEAT,
        "number": NUMBER,
        "min_number": MIN_NUMBER,
    }
    with open(out_path, "w", encoding="utf-8") as out:
        json.dump(result, out)


if __name__ == "__main__":
    main(sys.argv[1])
