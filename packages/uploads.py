"""Receiving a pushed package: however the client sends it, to disk, within the limit.

NuGet clients send the `.nupkg` as the file of a multipart/form-data body;
nuget.org also accepts the bare `.nupkg` as the body, and so does Galley. The
body may come with a `Content-Length` (NuGet 2.x) or chunked (current clients:
nuget.exe 5+, the dotnet CLI). Django reads a body only up to its
`Content-Length`, so a chunked one looks empty to it; gunicorn de-chunks it and
marks `wsgi.input_terminated` (the WSGI extension saying "read until the end"),
and then the body is read from `wsgi.input` directly.

Either way the body goes to a temporary file as it arrives (kept in memory while
it is small: a push of a few hundred kilobytes touches no disk before storage),
the size limit is enforced while reading (413 once it is passed, without waiting
for the rest), and a body that is cut off is a 400 that leaves nothing behind.
The package is measured (size, SHA-512) as it arrives, so it is never read again
to be hashed: the file yielded carries `measured`, (size, base64 SHA-512).
"""

import base64
import hashlib
import io
import tempfile
from contextlib import contextmanager

from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.core.files.uploadedfile import InMemoryUploadedFile, TemporaryUploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http.multipartparser import MultiPartParser, MultiPartParserError
from django.utils.translation import gettext as _

from apikeys.scopes import Refusal
from core.bodies import BodyTooSlow
from packages.nupkg import PackageTooLarge

_CHUNK = 64 * 1024
# Bodies up to this size stay in memory (at most twice this per thread that is
# receiving one: the body and the package in it); larger ones go to disk.
IN_MEMORY = 256 * 1024
# The multipart framing (boundaries, part headers) around the package.
MULTIPART_SLACK = 64 * 1024


def too_large_message() -> str:
    return _("The package is larger than %(size)d MB.") % {
        "size": settings.GALLEY_MAX_PACKAGE_SIZE // (1024 * 1024)
    }


class _Refused(Exception):
    """Inside this module only: the body cannot be used, and why."""

    def __init__(self, code: str, message: str, status: int):
        super().__init__(code)
        self.refusal = Refusal(code, message, status=status)


def _too_large() -> _Refused:
    return _Refused("too_large", too_large_message(), 413)


def _cut_off() -> _Refused:
    return _Refused(
        "incomplete_body", _("The upload was cut off before the end. Push the package again."), 400
    )


def _body_stream(request):
    """The body as a stream and the length it declares (None: read to the end)."""
    length = request.headers.get("Content-Length")
    if length is not None:
        if not (length.isascii() and length.isdigit()):
            raise _Refused("bad_request", _("The Content-Length header is not a number."), 400)
        return request, int(length)
    if request.environ.get("wsgi.input_terminated"):
        return request.environ["wsgi.input"], None
    if "chunked" in request.headers.get("Transfer-Encoding", "").lower():
        # Only Django's development server gets here: it cannot de-chunk.
        raise _Refused(
            "length_required",
            _("This server cannot read chunked uploads. Serve Galley with gunicorn (make run)."),
            411,
        )
    return request, 0


def _measured(digest) -> str:
    return base64.b64encode(digest.digest()).decode("ascii")


def _spool(request, cap: int, *, measure: bool):
    """The whole body in a temporary file (at its start) and its size; with
    `measure` (the body is the package), the file carries its `measured`."""
    stream, declared = _body_stream(request)
    if declared is not None and declared > cap:
        raise _too_large()  # said before a byte of the body is read
    # Closed by the caller (received_package), or below if reading fails.
    spool = tempfile.SpooledTemporaryFile(  # noqa: SIM115
        max_size=IN_MEMORY, dir=settings.FILE_UPLOAD_TEMP_DIR, suffix=".upload"
    )
    digest = hashlib.sha512() if measure else None
    received = 0
    try:
        while declared is None or received < declared:
            wanted = _CHUNK if declared is None else min(_CHUNK, declared - received)
            try:
                chunk = stream.read(min(wanted, cap - received + 1))
            except BodyTooSlow:
                raise _Refused(
                    "body_too_slow",
                    _("The upload stalled or was too slow, and was stopped. Push again."),
                    408,
                ) from None
            except Exception:
                # gunicorn raises its own errors for a chunked body cut short
                # or malformed; whichever it is, the body is unusable.
                raise _cut_off() from None
            if not chunk:
                if declared is not None:
                    raise _cut_off()
                break
            received += len(chunk)
            if received > cap:
                raise _too_large()
            spool.write(chunk)
            if digest is not None:
                digest.update(chunk)
        spool.flush()
        spool.seek(0)
        if digest is not None:
            spool.measured = (received, _measured(digest))
        return spool, received
    except BaseException:
        spool.close()
        raise


class _PackageUploadHandler(FileUploadHandler):
    """The multipart file: in memory when the body is small, else in a temporary file;
    measured as it arrives; stopped at the size limit."""

    def __init__(self, request, limit: int, in_memory: bool):
        super().__init__(request)
        self.limit = limit
        self.in_memory = in_memory

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.received = 0
        self.digest = hashlib.sha512()
        self.file = (
            io.BytesIO()
            if self.in_memory
            else TemporaryUploadedFile(
                self.file_name, self.content_type, 0, self.charset, self.content_type_extra
            )
        )

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.limit:
            self.file.close()
            raise PackageTooLarge(too_large_message())
        self.digest.update(raw_data)
        self.file.write(raw_data)

    def file_complete(self, file_size):
        self.file.seek(0)
        if self.in_memory:
            upload = InMemoryUploadedFile(
                self.file,
                self.field_name,
                self.file_name,
                self.content_type,
                file_size,
                self.charset,
                self.content_type_extra,
            )
        else:
            upload = self.file
            upload.size = file_size
        upload.file.measured = (file_size, _measured(self.digest))
        return upload


def _multipart_file(request, spool, size: int):
    meta = {**request.META, "CONTENT_LENGTH": str(size)}
    handler = _PackageUploadHandler(
        request, settings.GALLEY_MAX_PACKAGE_SIZE, in_memory=size <= IN_MEMORY
    )
    try:
        _fields, files = MultiPartParser(meta, spool, [handler], request.encoding).parse()
    except PackageTooLarge:
        raise _too_large() from None
    except (MultiPartParserError, SuspiciousOperation, StopUpload):
        raise _Refused(
            "bad_request", _("The request body is not valid multipart/form-data."), 400
        ) from None
    # "The first item in the request body is the raw bytes of the .nupkg being pushed.
    # Subsequent items in the multipart body are ignored. The file name or any other
    # headers of the multipart items are ignored." (NuGet's PackagePublish docs)
    uploads = [upload for _name, items in files.lists() for upload in items]
    for ignored in uploads[1:]:
        ignored.close()
    if not uploads:
        raise _no_package()
    return uploads[0]


def _no_package() -> _Refused:
    return _Refused("bad_request", _("The request contains no package file."), 400)


@contextmanager
def received_package(request):
    """The pushed file, on disk and open at its start, for the length of the block;
    or, instead of the file, the Refusal that says why the body cannot be used."""
    multipart = request.content_type == "multipart/form-data"
    limit = settings.GALLEY_MAX_PACKAGE_SIZE
    try:
        spool, size = _spool(
            request, limit + MULTIPART_SLACK if multipart else limit, measure=not multipart
        )
    except _Refused as refused:
        yield refused.refusal
        return
    upload = refusal = None
    with spool:
        try:
            if multipart:
                upload = _multipart_file(request, spool, size)
            elif size == 0:
                raise _no_package()
        except _Refused as refused:
            refusal = refused.refusal
        if refusal or not multipart:
            yield refusal or spool
            return
    # The package is in a file of its own now; the spool is gone.
    try:
        yield upload.file
    finally:
        upload.close()
