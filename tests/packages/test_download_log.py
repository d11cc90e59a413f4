"""packages/download_log.py: downloads nginx sent itself, counted from its log as
Galley counts its own (a whole GET; not a HEAD, a 304 or a later range), once."""

import fcntl
import os

import pytest
from django.core.management import CommandError, call_command

from packages import download_log, downloads
from packages.downloads import flush_download_counts, pending_downloads
from packages.models import PackageVersion
from tests.factories import PackageRegistrationFactory
from tests.packages.builders import add_version

pytestmark = pytest.mark.django_db


def line(status, lower_id="contoso.core", version="1.0.0", method="GET", range_="-"):
    address = f"/v3-flatcontainer/{lower_id}/{version}/{lower_id}.{version}.nupkg"
    return f"{status} {method} {address} {range_}\n"


@pytest.fixture
def versions(alice):
    core = PackageRegistrationFactory(package_id="Contoso.Core", owners=[alice])
    other = PackageRegistrationFactory(package_id="Fabrikam.Utils", owners=[alice])
    return add_version(core, "1.0.0"), add_version(core, "2.0.0"), add_version(other, "1.0.0")


@pytest.fixture
def log(tmp_path):
    return tmp_path / "downloads.log"


@pytest.fixture
def state(tmp_path):
    return tmp_path / "state" / "downloads.json"


def pending(versions) -> list[int]:
    counts = pending_downloads(versions)
    return [counts.get(version.pk, 0) for version in versions]


def test_whole_gets_are_counted_and_nothing_else(versions, log, state):
    log.write_text(
        line(200)
        + line(200)
        + line(206, range_="bytes 0-1023/2048")
        + line(206, range_="bytes 1024-2047/2048")  # the rest of a download already counted
        + line(304)
        + line(200, method="HEAD")
        + line(200, version="2.0.0")
        + line(200, lower_id="fabrikam.utils")
        + line(200, version="9.9.9")  # no such version (deleted since)
        + "200 GET /v3-flatcontainer/contoso.core/1.0.0/other.1.0.0.nupkg -\n"
        + "200 GET /v3-flatcontainer/contoso.core/index.json -\n"
        + "not a line of this log\n"
        + "\n"
    )
    assert download_log.count_log(log, state) == 5
    assert pending(versions) == [3, 1, 1]


def test_each_line_is_counted_once_and_a_line_being_written_waits(versions, log, state):
    log.write_text(line(200) + line(200, version="2.0.0")[:20])
    assert download_log.count_log(log, state) == 1
    assert download_log.count_log(log, state) == 0  # the half line is not counted yet
    with open(log, "a") as file:
        file.write(line(200, version="2.0.0")[20:] + line(200))
    assert download_log.count_log(log, state) == 2
    assert download_log.count_log(log, state) == 0
    assert pending(versions) == [2, 1, 0]


def test_blocks_smaller_than_the_log_count_every_line(versions, log, state):
    log.write_text((line(200) + line(200, version="2.0.0")) * 50)
    assert download_log.count_log(log, state, block=100) == 100
    assert pending(versions) == [50, 50, 0]
    assert download_log.count_log(log, state, block=100) == 0


def test_a_line_longer_than_a_block_is_skipped(versions, log, state):
    log.write_text("x" * 300 + "\n" + line(200))
    assert download_log.count_log(log, state, block=100) == 1
    assert pending(versions) == [1, 0, 0]


def test_a_rotated_log_is_finished_then_the_new_one_read(versions, log, state):
    log.write_text(line(200))
    assert download_log.count_log(log, state) == 1
    with open(log, "a") as file:
        file.write(line(200, version="2.0.0"))  # written before the rotation
    log.rename(log.with_name(log.name + ".1"))
    log.write_text(line(200, lower_id="fabrikam.utils"))
    assert download_log.count_log(log, state) == 2
    assert pending(versions) == [1, 1, 1]
    assert download_log.count_log(log, state) == 0


def test_lines_written_to_the_rotated_log_before_nginx_reopens_it_are_counted(versions, log, state):
    log.write_text(line(200))
    assert download_log.count_log(log, state) == 1
    rotated = log.with_name(log.name + ".1")
    log.rename(rotated)  # logrotate renames; nginx writes on until it reopens its log
    log.write_text("")
    assert download_log.count_log(log, state) == 0
    with open(rotated, "a") as file:
        file.write(line(200, version="2.0.0"))
    with open(log, "a") as file:
        file.write(line(200, lower_id="fabrikam.utils"))
    assert download_log.count_log(log, state) == 2
    assert download_log.count_log(log, state) == 0
    assert pending(versions) == [1, 1, 1]


def test_a_rotated_log_that_is_gone_is_said_and_the_new_one_read(versions, log, state, caplog):
    log.write_text(line(200))
    assert download_log.count_log(log, state) == 1
    log.rename(log.with_name("downloads.log.2"))  # rotated twice since: .1 is not it
    log.with_name(log.name + ".1").write_text(line(200) * 5)
    log.write_text(line(200, version="2.0.0"))
    assert download_log.count_log(log, state) == 1
    assert pending(versions) == [1, 1, 0]
    assert f"{log} was rotated and its old lines are gone" in caplog.text


def test_a_log_truncated_in_place_is_read_from_its_start(versions, log, state):
    log.write_text(line(200) * 3)
    assert download_log.count_log(log, state) == 3
    log.write_text(line(200, version="2.0.0"))  # copytruncate: same file, shorter
    assert download_log.count_log(log, state) == 1
    assert pending(versions) == [3, 1, 0]


def test_downloads_that_cannot_be_counted_are_counted_next_time(versions, log, state, monkeypatch):
    log.write_text(line(200) * 2)

    def down(counts):
        raise ConnectionError("the cache is down")

    with monkeypatch.context() as patched:
        patched.setattr(downloads, "count_downloads", down)
        with pytest.raises(ConnectionError):
            download_log.count_log(log, state)
    assert pending(versions) == [0, 0, 0]
    assert download_log.count_log(log, state) == 2
    assert pending(versions) == [2, 0, 0]


def test_one_run_at_a_time(versions, log, state):
    log.write_text(line(200))
    state.parent.mkdir(parents=True)
    with open(state.with_name(state.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        assert download_log.count_log(log, state) is None
    assert pending(versions) == [0, 0, 0]
    assert download_log.count_log(log, state) == 1


def test_a_damaged_state_file_reads_the_log_from_its_start(versions, log, state):
    log.write_text(line(200))
    state.parent.mkdir(parents=True)
    state.write_text('["not", "a", "state"]')
    assert download_log.count_log(log, state) == 1
    state.write_text('{"file": "1:2", "offset": -5, "rotated": "", "rotated_offset": 0}')
    assert download_log.count_log(log, state) == 1


def test_the_flush_moves_them_to_the_versions(versions, log, state):
    log.write_text(line(200) * 4 + line(200, version="2.0.0"))
    download_log.count_log(log, state)
    assert flush_download_counts() == 5
    assert [PackageVersion.objects.get(pk=v.pk).download_count for v in versions] == [4, 1, 0]


def test_counted_in_redis_when_the_cache_is_redis(versions, log, state, redis_cache):
    log.write_text(line(200) * 2 + line(200, lower_id="fabrikam.utils"))
    assert download_log.count_log(log, state) == 3
    assert pending(versions) == [2, 0, 1]
    assert flush_download_counts() == 3


def test_the_command(versions, log, tmp_path, settings, capsys):
    settings.DATA_DIR = tmp_path / "data"
    log.write_text(line(200) * 2)
    call_command("count_download_log", str(log))
    assert f"Downloads counted from {log}: 2." in capsys.readouterr().out
    call_command("count_download_log", str(log))
    assert f"Downloads counted from {log}: 0." in capsys.readouterr().out
    assert len(os.listdir(tmp_path / "data" / "download-logs")) == 2  # the state and its lock
    with pytest.raises(CommandError, match="No such file"):
        call_command("count_download_log", str(tmp_path / "missing.log"))
