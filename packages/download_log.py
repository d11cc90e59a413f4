"""Downloads nginx sent from GALLEY_PUBLIC_FILES, counted from its log.

nginx writes a line for each request it answered from the public folder
(packages/public_files.py), in the format docs/deploy.md gives it:

    log_format galley_downloads '$status $request_method $uri $sent_http_content_range';
    200 GET /v3-flatcontainer/contoso.lib/1.2.0/contoso.lib.1.2.0.nupkg -

`manage.py count_download_log FILE` (cron, on each host running nginx) reads the
lines written since its last run and counts them as Galley counts the downloads it
answers itself (packages/feed_views.py): a GET of the whole package (200, or a
206 whose Content-Range starts at its first byte); not a HEAD, a 304 or a later range. The counts join the
others in packages/downloads.py, which flush_download_counts moves to the versions.

Where it stopped (the log's device, inode and offset) is kept in a small state
file, written after each block's counts are in: a run that fails counts that block
again next time, and only a crash between the two could count one block twice
(counts are at least once). A log rotated since (another file) is finished first
from its rotated name (`FILE.1`: logrotate's `delaycompress` and `nodateext`, as
Debian rotates nginx's logs), and read again from there by each run until the next
rotation, since nginx writes to it until it reopens its log; the new one is read
from its start. A log truncated in place (`copytruncate`) is read from its
start if it is still shorter than where the last run stopped; if it has grown past
that, the lines before are not counted: rotate by renaming. Only whole lines are
read: a line nginx is still writing waits for the next run. Memory stays bounded by
the block size.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from django.db.models import Q

from packages import downloads
from packages.models import PackageVersion
from packages.public_files import PREFIX

log = logging.getLogger("galley.feed")

BLOCK = 1 << 20
_LINE = re.compile(
    rb"(?P<status>\d{3}) (?P<method>[A-Z]+) /"
    + re.escape(PREFIX.encode())
    + rb"/(?P<id>[^/ ]+)/(?P<version>[^/ ]+)/(?P<file>[^/ ]+) (?P<range>.*)"  # Content-Range
)
_RESOLVE_CHUNK = 200


def count_log(path: Path, state_path: Path, *, block: int = BLOCK) -> int | None:
    """Count the downloads logged in `path` since the last run; how many were
    counted, or None when another run is counting that log (one at a time)."""
    state_path.parent.mkdir(parents=True, exist_ok=True)
    with open(state_path.with_name(state_path.name + ".lock"), "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None
        return _count_since_last_run(path, state_path, block)


@dataclass
class _State:
    """Where the last run stopped: in the log (its file's identity, device and
    inode, and an offset), and in the log it had read before a rotation, which
    nginx may still have written to until it reopened its log (None once done)."""

    path: Path
    file: str = ""
    offset: int = 0
    rotated: str = ""
    rotated_offset: int = 0

    def save(self) -> None:
        temporary = self.path.with_name(self.path.name + ".new")
        fields = ("file", "offset", "rotated", "rotated_offset")
        temporary.write_text(json.dumps({name: getattr(self, name) for name in fields}))
        os.replace(temporary, self.path)


def _identity(file) -> str:
    opened = os.fstat(file.fileno())
    return f"{opened.st_dev}:{opened.st_ino}"


def _count_since_last_run(path: Path, state_path: Path, block: int) -> int:
    state = _read_state(state_path)
    counted = 0
    with open(path, "rb") as current:
        # The file opened, not the name: nginx may rotate it meanwhile.
        identity, size = _identity(current), os.fstat(current.fileno()).st_size
        if state.file != identity:
            if state.file:  # rotated since the last run: finish the old one first
                state.rotated, state.rotated_offset = state.file, state.offset
            state.file, state.offset = identity, 0
        elif state.offset > size:  # truncated in place
            state.offset = 0
        if state.rotated:
            counted += _finish_rotated(path, state, block)
        return counted + _count_from(current, state, "offset", block)


def _finish_rotated(path: Path, state: _State, block: int) -> int:
    """The lines nginx wrote to the log before it was rotated, from its rotated name
    (`FILE.1`); kept in the state until the next rotation, as nginx writes to it
    until it reopens its log. 0 with a warning when it is gone."""
    try:
        with open(path.with_name(path.name + ".1"), "rb") as rotated:
            if _identity(rotated) == state.rotated:
                return _count_from(rotated, state, "rotated_offset", block)
    except FileNotFoundError:
        pass
    log.warning("%s was rotated and its old lines are gone: some downloads not counted", path)
    state.rotated, state.rotated_offset = "", 0
    state.save()
    return 0


def _count_from(file, state: _State, offset_field: str, block: int) -> int:
    """Count the whole lines from the state's offset in `file`, saving the state
    after each block's counts are in."""
    counted = 0
    offset = getattr(state, offset_field)
    file.seek(offset)
    rest = b""
    while chunk := file.read(block):
        data = rest + chunk
        end = data.rfind(b"\n") + 1
        if end == 0 and len(data) >= block:
            # A line longer than any nginx writes here: not one of ours, skipped whole.
            rest, offset = b"", offset + len(data)
            continue
        lines, rest = data[:end], data[end:]
        counts = _resolve(_parse(lines))
        downloads.count_downloads(counts)
        counted += sum(counts.values())
        offset += end
        setattr(state, offset_field, offset)
        state.save()
    setattr(state, offset_field, offset)
    state.save()
    return counted


def _parse(lines: bytes) -> Counter:
    """{(lower id, lower version): downloads} in whole lines of the log."""
    counts: Counter = Counter()
    for line in lines.splitlines():
        match = _LINE.fullmatch(line)
        if match is None:
            continue
        status, method, range_ = match["status"], match["method"], match["range"]
        whole = status == b"200" or (status == b"206" and range_.startswith(b"bytes 0-"))
        lower_id, lower_version = match["id"], match["version"]
        if (
            method != b"GET"
            or not whole
            or match["file"] != b"%s.%s.nupkg" % (lower_id, lower_version)
        ):
            continue
        counts[(lower_id.decode(errors="replace"), lower_version.decode(errors="replace"))] += 1
    return counts


def _resolve(counts: Counter) -> dict[int, int]:
    """The same counts by version pk; versions deleted since are left out."""
    by_pk: dict[int, int] = {}
    pairs = list(counts)
    for start in range(0, len(pairs), _RESOLVE_CHUNK):
        chunk = pairs[start : start + _RESOLVE_CHUNK]
        wanted = Q()
        for lower_id, lower_version in chunk:
            wanted |= Q(registration__normalized_id=lower_id, normalized_version=lower_version)
        found = PackageVersion.objects.filter(wanted).values_list(
            "registration__normalized_id", "normalized_version", "pk"
        )
        for lower_id, lower_version, pk in found:
            by_pk[pk] = counts[(lower_id, lower_version)]
    return by_pk


def _read_state(state_path: Path) -> _State:
    try:
        saved = json.loads(state_path.read_text())
    except FileNotFoundError:
        return _State(state_path)
    except ValueError:
        saved = None
    fields = {"file": str, "offset": int, "rotated": str, "rotated_offset": int}
    if not (
        isinstance(saved, dict)
        and all(isinstance(saved.get(name), kind) for name, kind in fields.items())
        and saved["offset"] >= 0
        and saved["rotated_offset"] >= 0
    ):
        log.warning("%s is not a state file: the log is read from its start", state_path)
        return _State(state_path)
    return _State(state_path, **{name: saved[name] for name in fields})
