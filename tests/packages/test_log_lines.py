"""What a client sends reaches the logs on one line: a package id or version with a line
break (`%0A` in an unlist URL) cannot forge a log line."""

import logging
import unicodedata

import pytest

from tests.factories import PackageRegistrationFactory, make_key
from tests.helpers import push, unlist

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _package_files_in_a_folder_of_the_tests_own(package_dir):
    pass


def _assert_one_line_each(records):
    assert records, "nothing was logged"
    for record in records:
        message = record.getMessage()
        assert not any(unicodedata.category(c) == "Cc" for c in message), repr(message)


@pytest.mark.parametrize("method", ["delete", "post"])
@pytest.mark.parametrize(
    "package_id, version",
    [
        ("Contoso.Core%0A2026-01-01%2000:00:00%20INFO%20forged", "1.0.0"),  # no such package
        ("Contoso.Core%0D%0Aforged", "1.0.0%0Aforged"),
        ("Fabrikam.Core%0Aforged", "1.0.0"),  # the key's pattern does not match
    ],
)
def test_an_unlist_url_with_a_line_break_logs_one_line(
    client, alice, caplog, method, package_id, version
):
    PackageRegistrationFactory(package_id="Contoso.Core", owners=[alice])
    _, secret = make_key(alice, scopes=["package:unlist"], glob_patterns=["Contoso.*"])
    with caplog.at_level(logging.INFO):
        response = unlist(client, secret, package_id, version, method=method)
    assert response.status_code in (403, 404)
    _assert_one_line_each(caplog.records)
    refused = [r for r in caplog.records if r.getMessage().startswith("publish refused")]
    assert len(refused) == 1
    assert "forged" in refused[0].getMessage()  # still there to read, on the same line


def test_an_unknown_key_with_a_line_break_in_the_url_logs_one_line(client, caplog):
    with caplog.at_level(logging.INFO):
        unlist(client, "gly_not-a-key", "A%0Aforged", "1.0.0%0A")
    _assert_one_line_each(caplog.records)


def test_a_push_logs_its_package_id_and_version_on_one_line(client, alice, caplog):
    _, secret = make_key(alice)
    with caplog.at_level(logging.INFO):
        assert push(client, secret).status_code == 201
    _assert_one_line_each(caplog.records)
    assert any(r.getMessage().startswith("pushed ") for r in caplog.records)
