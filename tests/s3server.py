"""An S3 server on loopback for the storage tests: moto in server mode.

moto answers the S3 API over real HTTP, so django-storages and boto3 run
exactly as they do against AWS, MinIO or Garage. It does not check signatures:
the tests read a presigned URL's expiry instead of relying on a refusal.
"""

import secrets

import pytest

# moto does not check credentials, but boto3 wants some before it signs anything.
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "galley-test",
    "AWS_SECRET_ACCESS_KEY": "galley-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


class S3Server:
    def __init__(self):
        from moto.server import ThreadedMotoServer

        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        host, port = self.server.get_host_and_port()
        self.endpoint = f"http://{host}:{port}"

    def env(self) -> dict[str, str]:
        """The variables boto3 reads, for this server (no AWS profile or instance role)."""
        return {**CREDENTIALS, "AWS_ENDPOINT_URL": self.endpoint}

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )

    def new_bucket(self) -> str:
        name = "galley-" + secrets.token_hex(6)
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = (
            self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        )
        return sorted(entry["Key"] for page in pages for entry in page.get("Contents", ()))

    def stop(self):
        self.server.stop()


@pytest.fixture(scope="session")
def s3_server():
    server = S3Server()
    yield server
    server.stop()


@pytest.fixture
def s3_storage(s3_server, settings, monkeypatch):
    """Package files go to a bucket of the test's own, under a prefix, through settings.

    The storage entry is built by the same function as in production, from the same
    variables (GALLEY_PACKAGE_STORAGE and boto3's own).
    """
    from config.env import envstorage

    bucket = s3_server.new_bucket()
    for name, value in s3_server.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("GALLEY_PACKAGE_STORAGE", f"s3://{bucket}/feed")
    settings.STORAGES = {
        **settings.STORAGES,
        "packages": envstorage("GALLEY_PACKAGE_STORAGE", None),
    }
    return bucket
