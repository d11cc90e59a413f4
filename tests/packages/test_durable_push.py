"""An acknowledged push survives a crash: the package's bytes and the directory entries
that name it are on the disk before its row commits (packages/storage.py).

The syncs run in the background while the rows are written; these tests watch the
operating system's fsync calls (the real ones, recorded) and the statements that end
the push's transaction.
"""

import os
import stat
import threading

import pytest
from django.db import connection

from packages.models import PackageVersion
from tests.factories import make_key
from tests.helpers import push, stored_files
from tests.packages.builders import nupkg

pytestmark = pytest.mark.django_db


@pytest.fixture
def events(monkeypatch):
    """What happened, in order: ("fsync", what) for each sync (a folder's path, or a
    file's inode number: the file was renamed since it was opened), ("sql", statement)
    for each statement of this connection.

    A sync in the background finishes only once the version's row is written, as if
    the disk were slow: the push must wait for it before its transaction ends."""
    happened = []
    real_fsync = os.fsync
    version_written = threading.Event()

    def fsync(fd):
        status = os.fstat(fd)
        what = os.readlink(f"/proc/self/fd/{fd}") if stat.S_ISDIR(status.st_mode) else status.st_ino
        if threading.current_thread() is not threading.main_thread():
            assert version_written.wait(timeout=30)
        real_fsync(fd)
        happened.append(("fsync", what))

    monkeypatch.setattr(os, "fsync", fsync)

    def statements(execute, sql, params, many, context):
        happened.append(("sql", sql))
        result = execute(sql, params, many, context)
        if sql.startswith('INSERT INTO "packages_packageversion"'):
            version_written.set()
        return result

    with connection.execute_wrapper(statements):
        yield happened


def _synced(events):
    return [path for kind, path in events if kind == "fsync"]


def test_a_new_package_is_on_the_disk_with_its_folder_before_its_row_commits(
    client, alice, package_dir, events
):
    _, secret = make_key(alice)
    (package_dir / "other").mkdir(parents=True)  # the packages folder exists already
    assert push(client, secret).status_code == 201
    (stored,) = [name for name in stored_files(package_dir) if name.endswith(".nupkg")]
    package = (package_dir / stored).stat().st_ino
    synced = _synced(events)
    # The file's bytes, the entry naming it, and the entry of the folder made for it.
    assert synced[:3] == [package, str(package_dir / "contoso.core"), str(package_dir)]
    # Before the push's transaction ends (a savepoint here, in the test's transaction).
    # (the package's three; the manifest's copy, written after the answer, syncs later)
    last_sync = [i for i, (kind, _what) in enumerate(events) if kind == "fsync"][2]
    statements = [(i, sql) for i, (kind, sql) in enumerate(events) if kind == "sql"]
    registered = next(
        n for n, (_i, sql) in enumerate(statements) if 'INTO "packages_packageregistration"' in sql
    )
    # The savepoint opened just before the registration's row is the push's own.
    savepoint = next(
        sql.split()[1]
        for _i, sql in reversed(statements[:registered])
        if sql.startswith("SAVEPOINT")
    )
    released = next(i for i, sql in statements if sql == f"RELEASE SAVEPOINT {savepoint}")
    assert last_sync < released


def test_a_new_version_syncs_the_file_and_its_folder(client, alice, package_dir, events):
    _, secret = make_key(alice)
    assert push(client, secret).status_code == 201
    events.clear()
    assert push(client, secret, nupkg(version="1.0.1")).status_code == 201
    package = (package_dir / "contoso.core" / "1.0.1.nupkg").stat().st_ino
    assert _synced(events)[:2] == [package, str(package_dir / "contoso.core")]


def test_a_push_whose_file_cannot_reach_the_disk_leaves_nothing(
    client, alice, package_dir, monkeypatch
):
    _, secret = make_key(alice)

    def failing(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing)
    client.raise_request_exception = False
    response = push(client, secret)
    assert response.status_code == 500
    assert not PackageVersion.objects.exists()
    assert [name for name in stored_files(package_dir) if name.endswith(".nupkg")] == []


def test_a_forked_process_syncs_its_own_saves(tmp_path):
    """A process forked after saves were synced (a server that preloads the
    application, a test runner that forks) has none of its parent's sync threads:
    it syncs with threads of its own instead of waiting for ever."""
    import signal

    from django.core.files.base import ContentFile

    from packages.storage import AtomicFileSystemStorage, deferred_syncs

    storage = AtomicFileSystemStorage(location=tmp_path)

    def save(name):
        with deferred_syncs() as synced:
            storage.save(name, ContentFile(b"package"))
            synced()

    for number in range(4):
        save(f"parent-{number}")  # the parent's sync threads exist, idle
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through its exit status
        status = 1
        try:
            signal.alarm(20)  # a child that waits for ever is ended
            save("child")
            status = 0
        finally:
            os._exit(status)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert (tmp_path / "child").read_bytes() == b"package"
