"""Where package files live: a local folder, or an S3-compatible bucket.

Both storages keep the same promise to the publish API: a file is written
whole under a name no other push can take, before any row points to it, so a
row never points to a missing file and a crash leaves at worst an unreferenced
file, which `manage.py packages_orphans` finds and removes.
"""

import contextlib
import os
import posixpath
import secrets
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime
from urllib.parse import quote

from django.conf import settings
from django.core.files.storage import FileSystemStorage, storages


def _sync_threads() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=4, thread_name_prefix="galley-fsync")


# Syncs run here while a push writes its rows (`deferred_syncs`): a few threads that
# only wait on the disk, shared by the process's requests. A forked child (a server
# that preloads the application, a test runner) has none of its parent's threads:
# it gets threads of its own, or its first push would wait for ever.
_SYNCS = _sync_threads()
_deferred = threading.local()


def _new_sync_threads_after_fork() -> None:
    global _SYNCS
    _SYNCS = _sync_threads()


os.register_at_fork(after_in_child=_new_sync_threads_after_fork)


def _sync(fd: int, directories: list[str]) -> None:
    """The file's bytes, then the directory entries that name it, on the disk."""
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    for directory in directories:
        entry = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(entry)
        finally:
            os.close(entry)


@contextlib.contextmanager
def deferred_syncs() -> Iterator[Callable[[], None]]:
    """Within the block, a save to the folder returns once its file is written and
    named; the file's bytes and its directory entry reach the disk in the background,
    while the caller goes on (writing the rows that will point to it). The function
    yielded returns once every one has, raising what a sync raised: call it before
    those rows commit, so that no row ever points to a file a crash could lose. The
    block waits for them too on its way out, whatever happens. No effect on S3,
    whose save returns once the object is stored."""
    pending: list[Future] = []
    outer = getattr(_deferred, "pending", None)
    _deferred.pending = pending

    def synced() -> None:
        while pending:
            pending.pop(0).result()

    try:
        yield synced
    finally:
        _deferred.pending = outer
        for future in pending:
            with contextlib.suppress(Exception):  # the block failed already
                future.result()


class AtomicFileSystemStorage(FileSystemStorage):
    """A folder where a file appears whole or not at all, and stays once saved.

    Django's FileSystemStorage writes straight into the final path, so a crash
    mid-write leaves half a package where readers can find it. This writes to
    a temporary file in the same folder and renames it into place, which is
    atomic on POSIX file systems. The file's bytes and the directory entry that
    names it (and the folder's own entry, for a folder made for it) are synced
    to the disk before the save counts as done: at once, or before the caller's
    rows commit (`deferred_syncs`).
    """

    def _save(self, name, content):
        full_path = self.path(name)
        directory = os.path.dirname(full_path)
        # The directories whose entries change: the file's, and the parent of each
        # folder made for it.
        directories = [directory]
        missing = directory
        while not os.path.isdir(missing):
            missing = os.path.dirname(missing)
            directories.append(missing)
        os.makedirs(directory, exist_ok=True)
        fd, temp_path = tempfile.mkstemp(dir=directory, prefix=".upload-")
        try:
            try:
                with os.fdopen(os.dup(fd), "wb") as temp:
                    if hasattr(content, "seek"):
                        content.seek(0)
                    for chunk in content.chunks():
                        temp.write(chunk)
                if self.file_permissions_mode is not None:
                    os.chmod(temp_path, self.file_permissions_mode)
                # link() fails if the name was taken meanwhile, where rename() would
                # silently replace another package's file.
                while True:
                    try:
                        os.link(temp_path, full_path)
                        break
                    except FileExistsError:
                        name = self.get_available_name(name)
                        full_path = self.path(name)
            finally:
                os.unlink(temp_path)
        except BaseException:
            os.close(fd)
            raise
        pending = getattr(_deferred, "pending", None)
        if pending is None:
            _sync(fd, directories)
        else:
            pending.append(_SYNCS.submit(_sync, fd, directories))
        return str(name).replace("\\", "/")


def package_storage():
    return storages["packages"]


def is_object_storage(storage) -> bool:
    return hasattr(storage, "bucket_name")


def unique_name(storage, name: str) -> str:
    """A name for a new file that no other save can take, on this storage.

    The folder needs nothing: its save never replaces a file (link() fails and
    another name is drawn). S3 (django-storages) writes the name it is given, and
    a PUT silently replaces an object of that name: two pushes of one version
    racing each other would write one key, and the loser, whose row cannot be
    written, would delete the object the winner's row points to. So the name
    carries a random part there: `a/1.0.0.nupkg` -> `a/1.0.0.9f…c2.nupkg`.
    """
    if not is_object_storage(storage):
        return name
    stem, extension = posixpath.splitext(name)
    return f"{stem}.{secrets.token_hex(8)}{extension}"


# ------------------------------------------------------------------ downloads


def download_redirect(storage, name: str, content_disposition: str = "") -> str | None:
    """A short-lived URL where the client fetches `name` itself, or None to serve it here.

    Presigned for GET only: the signature covers the method, so HEAD requests are
    answered by Galley (they carry no body anyway). S3 answers a presigned GET
    with the `response-content-*` values the URL carries (signed with it), so the
    download keeps the package's own name rather than the object's random one.
    """
    if not is_object_storage(storage):
        return None
    parameters = {"ResponseContentType": "application/octet-stream"}
    if content_disposition:
        parameters["ResponseContentDisposition"] = content_disposition
    return storage.url(name, parameters=parameters, expire=settings.GALLEY_DOWNLOAD_URL_SECONDS)


def accel_redirect(storage, name: str) -> str | None:
    """The internal nginx location of `name` (X-Accel-Redirect), when one is configured."""
    prefix = settings.GALLEY_ACCEL_REDIRECT
    if not prefix or is_object_storage(storage):
        return None
    return prefix.rstrip("/") + "/" + quote(name)


# ------------------------------------------------------------------ health


def storage_available(storage) -> bool:
    """A cheap check that the storage answers: HEAD on the bucket, or a writable folder."""
    if is_object_storage(storage):
        storage.connection.meta.client.head_bucket(Bucket=storage.bucket_name)
        return True
    location = storage.location
    while not os.path.exists(location):  # a fresh install: created at the first push
        location = os.path.dirname(location)
    return os.path.isdir(location) and os.access(location, os.W_OK | os.X_OK)


# ------------------------------------------------------------------ orphans


def stored_files(storage) -> Iterator[tuple[str, datetime]]:
    """(name, last modified) of every file in the storage, in no particular order."""
    if is_object_storage(storage):
        prefix = storage.location.strip("/")
        prefix = prefix + "/" if prefix else ""
        paginator = storage.connection.meta.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=storage.bucket_name, Prefix=prefix):
            for entry in page.get("Contents", ()):
                yield entry["Key"][len(prefix) :], entry["LastModified"]
        return
    root = storage.location
    for directory, _subdirectories, files in os.walk(root):
        for file in files:
            path = os.path.join(directory, file)
            try:
                modified = datetime.fromtimestamp(os.stat(path).st_mtime, tz=UTC)
            except FileNotFoundError:  # removed while we walked
                continue
            yield os.path.relpath(path, root).replace(os.sep, "/"), modified
