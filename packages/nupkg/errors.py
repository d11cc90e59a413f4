"""What goes wrong reading a package, said to the NuGet client in the active language."""

from __future__ import annotations

from django.utils.formats import number_format


class PackageError(Exception):
    """The upload is not an acceptable package; ``reason`` says why, for the client.

    The reason is already translated into the language active when it was raised.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PackageTooLarge(PackageError):
    """The uploaded file itself is over the size cap (answered with 413, not 400)."""


def shown(value: str) -> str:
    """Quote a client-supplied value for a message, escaped and bounded in length."""
    if len(value) > 100:
        return repr(value[:100]) + "..."
    return repr(value)


def grouped(number: int) -> str:
    """``number`` with the active language's thousands separators (1,000 or 1 000)."""
    return number_format(number, force_grouping=True)
