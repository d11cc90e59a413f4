import os
import tempfile

from django.core.files.storage import FileSystemStorage, storages


class AtomicFileSystemStorage(FileSystemStorage):
    """A folder where a file appears whole or not at all.

    Django's FileSystemStorage writes straight into the final path, so a crash
    mid-write leaves half a package where readers can find it. This writes to
    a temporary file in the same folder and renames it into place, which is
    atomic on POSIX file systems.
    """

    def _save(self, name, content):
        full_path = self.path(name)
        directory = os.path.dirname(full_path)
        os.makedirs(directory, exist_ok=True)
        fd, temp_path = tempfile.mkstemp(dir=directory, prefix=".upload-")
        try:
            with os.fdopen(fd, "wb") as temp:
                if hasattr(content, "seek"):
                    content.seek(0)
                for chunk in content.chunks():
                    temp.write(chunk)
                temp.flush()
                os.fsync(temp.fileno())
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
        return str(name).replace("\\", "/")


def package_storage():
    return storages["packages"]
