"""make bench, storage section: a 10 MB push and download, local folder against S3.

The same gunicorn (production configuration, two workers) runs twice on the
run's database: once with the package folder, once with GALLEY_PACKAGE_STORAGE
pointing at a moto S3 server started on loopback for the run. A download on S3
is the redirect from Galley plus the GET of the presigned URL, as a client does.
Each figure is the median of a few repetitions; the ratios say what S3 costs.
"""

import contextlib
import http.client
import secrets
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request

from bench import client, nupkgs
from bench.server import ROOT, Gunicorn, free_port

SIZE = 10 * 1024 * 1024
REPEAT = 5
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "galley-bench",
    "AWS_SECRET_ACCESS_KEY": "galley-bench-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@contextlib.contextmanager
def s3_server(log_path):
    """moto's S3 server in a process of its own on loopback; stopped afterwards."""
    port = free_port()
    with open(log_path, "ab") as log:
        process = subprocess.Popen(  # noqa: S603 - our own command line
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(endpoint + "/", timeout=2).close()  # noqa: S310 - loopback
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the moto S3 server did not start") from None
                time.sleep(0.2)
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=20)


def _bucket(endpoint: str) -> str:
    import boto3

    name = "galley-bench-" + secrets.token_hex(4)
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    s3.create_bucket(Bucket=name)
    return name


def _download_following(port: int, path: str) -> tuple[float, float, int]:
    """Seconds until Galley's answer is read, seconds until the whole file is; and its size."""
    started = time.perf_counter()
    conn = http.client.HTTPConnection(client.HOST, port, timeout=60)
    try:
        conn.request("GET", path)
        answer = conn.getresponse()
        body = answer.read()
        location = answer.getheader("Location")
    finally:
        conn.close()
    galley = time.perf_counter() - started
    if answer.status == 200:
        return galley, galley, len(body)
    if answer.status != 302 or not location:
        raise RuntimeError(f"download: {answer.status} {body[:200]!r}")
    target = urllib.parse.urlsplit(location)
    if target.hostname != "127.0.0.1":
        raise RuntimeError(f"the redirect leaves loopback: {location}")
    conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
    try:
        conn.request("GET", f"{target.path}?{target.query}")
        answer = conn.getresponse()
        body = answer.read()
    finally:
        conn.close()
    if answer.status != 200:
        raise RuntimeError(f"presigned download: {answer.status} {body[:200]!r}")
    return galley, time.perf_counter() - started, len(body)


def _measure(env: dict, log_path, secret: str, package_id: str) -> dict:
    pushes, downloads, answers = [], [], []
    with Gunicorn(env, log_path, workers=2, timeout=120) as server:
        warm = nupkgs.multipart(nupkgs.small(package_id + ".Warm", "1.0.0"))
        answer = client.push(server.port, secret, warm)
        if answer.status != 201:
            raise RuntimeError(f"warm-up push: {answer.status} {answer.body[:300]!r}")
        for number in range(REPEAT):
            version = f"1.0.{number}"
            body = nupkgs.multipart(nupkgs.with_payload(package_id, version, SIZE))
            answer = client.push(server.port, secret, body, timeout=120)
            if answer.status != 201:
                raise RuntimeError(f"10 MB push: {answer.status} {answer.body[:300]!r}")
            pushes.append(answer.seconds)
            lower = package_id.lower()
            path = f"/v3-flatcontainer/{lower}/{version}/{lower}.{version}.nupkg"
            galley, seconds, received = _download_following(server.port, path)
            if received < SIZE // 2:
                raise RuntimeError(f"download: only {received} bytes")
            downloads.append(seconds)
            answers.append(galley)
    return {
        "push_s": statistics.median(pushes),
        "download_s": statistics.median(downloads),
        "galley_answer_s": statistics.median(answers),
    }


def run(backend, keys: dict, say) -> dict:
    """Both storages on `backend` (bench.run.Backend), with its push key."""
    say(f"storage: {REPEAT} pushes and downloads of 10 MB on the local folder")
    folder = _measure(backend.env, backend.log("gunicorn-folder"), keys["push"], "Contoso.Folder")
    with s3_server(backend.log("moto")) as endpoint:
        bucket = _bucket(endpoint)
        env = {
            **backend.env,
            **CREDENTIALS,
            "AWS_ENDPOINT_URL": endpoint,
            "GALLEY_PACKAGE_STORAGE": f"s3://{bucket}/galley",
        }
        say(f"storage: {REPEAT} pushes and downloads of 10 MB on S3 (moto on loopback)")
        s3 = _measure(env, backend.log("gunicorn-s3"), keys["push"], "Contoso.Bucket")
    return {
        "size": SIZE,
        "repeat": REPEAT,
        "folder": folder,
        "s3": s3,
        "push_ratio": s3["push_s"] / folder["push_s"],
        "download_ratio": s3["download_s"] / folder["download_s"],
        "answer_ratio": s3["galley_answer_s"] / folder["galley_answer_s"],
    }


def markdown(result: dict) -> str:
    mb = result["size"] / 1e6
    rows = [
        "## Package storage: local folder and S3",
        "",
        f"A {mb:.0f} MB package pushed and downloaded {result['repeat']} times on each "
        "storage (median), under gunicorn with two workers; S3 is a moto server on loopback, "
        "and its download is Galley's redirect plus the GET of the presigned URL.",
        "",
        "| | local folder | S3 (moto) | S3 / folder |",
        "|---|---:|---:|---:|",
    ]
    for what, key, ratio in (
        (f"{mb:.0f} MB push", "push_s", "push_ratio"),
        (f"{mb:.0f} MB download, whole", "download_s", "download_ratio"),
        (
            "download, Galley's answer (the file, or the redirect)",
            "galley_answer_s",
            "answer_ratio",
        ),
    ):
        folder, s3 = result["folder"][key], result["s3"][key]
        rows.append(
            f"| {what} | {folder * 1000:.0f} ms | {s3 * 1000:.0f} ms | {result[ratio]:.2f} |"
        )
    rows += [
        "",
        "moto keeps objects in its own process's memory and checks no signature: it measures "
        "the path through django-storages and boto3 (the upload after the body is read, the "
        "redirect), not a real store's disks or network.",
        "",
    ]
    return "\n".join(rows)
