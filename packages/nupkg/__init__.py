"""Reading a pushed package: NuGet's version grammar (version.py), the manifest
(nuspec.py) and the archive itself (archive.py), with the errors said to the client
(errors.py).

The reasons carried by :class:`PackageError` (and the ``ValueError`` messages of
:func:`validate_package_id` and :meth:`NuGetVersion.parse`) go back to the NuGet
client, so they are built with Django's translation and number-formatting functions
at the moment the error is raised, in the active language.
"""

from packages.nupkg.archive import read_package, read_symbol_package, sha512_of
from packages.nupkg.errors import PackageError, PackageTooLarge
from packages.nupkg.nuspec import (
    MAX_ID_LENGTH,
    DependencyGroup,
    PackageManifest,
    validate_package_id,
)
from packages.nupkg.version import (
    MAX_VERSION_LENGTH,
    STORED_VERSION_LENGTH,
    NuGetVersion,
    normalized_range,
)

__all__ = [
    "MAX_ID_LENGTH",
    "MAX_VERSION_LENGTH",
    "STORED_VERSION_LENGTH",
    "DependencyGroup",
    "NuGetVersion",
    "PackageError",
    "PackageManifest",
    "PackageTooLarge",
    "normalized_range",
    "read_package",
    "read_symbol_package",
    "sha512_of",
    "validate_package_id",
]
