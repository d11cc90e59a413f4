"""Avatars drawn from a name: a small symmetric identicon, as an inline SVG.

Deterministic (the same name always gives the same picture, on every server)
and local: no request to an avatar service leaks who looks at whose page.
"""

import hashlib

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

GRID = 5  # cells per side; the left half is mirrored onto the right


def _digest(name: str) -> bytes:
    # Names are case-insensitive in Galley, as in NuGet: Alice and alice look alike.
    return hashlib.sha256(name.casefold().encode()).digest()


def colour(name: str) -> str:
    """The avatar's colour: a hue from the name, dark enough for white around it."""
    digest = _digest(name)
    hue = int.from_bytes(digest[-2:], "big") % 360
    return f"hsl({hue} 55% 38%)"


def cells(name: str) -> list[tuple[int, int]]:
    """The filled (column, row) cells of the grid, mirrored left to right."""
    digest = _digest(name)
    half = (GRID + 1) // 2
    filled = []
    for row in range(GRID):
        for column in range(half):
            if digest[row * half + column] % 2:
                filled.append((column, row))
                if column != GRID - 1 - column:
                    filled.append((GRID - 1 - column, row))
    return sorted(filled)


def identicon_svg(name: str, size: int = 32) -> SafeString:
    """An inline SVG `size` pixels square, decorative: the name is always written beside it."""
    size = max(8, min(int(size), 512))
    rects = format_html_join(
        "",
        '<rect x="{}" y="{}" width="1" height="1"/>',
        ((column + 1, row + 1) for column, row in cells(name)),
    )
    return format_html(
        '<svg class="avatar" width="{size}" height="{size}" viewBox="0 0 {box} {box}" '
        'aria-hidden="true" focusable="false" xmlns="http://www.w3.org/2000/svg">'
        '<rect width="{box}" height="{box}" fill="#f0f2f4"/><g fill="{colour}">{rects}</g></svg>',
        size=size,
        box=GRID + 2,
        colour=colour(name),
        rects=rects,
    )
