"""Identicons: a small symmetric picture drawn from an account's name, so people and
organizations are told apart at a glance without Galley storing or fetching images
(nuget.org shows Gravatars, which would send every reader's browser elsewhere)."""

from __future__ import annotations

import hashlib

_GRID = 5


def identicon_svg(username: str) -> str:
    """An SVG identicon for `username` (case-insensitive): 5×5 cells, mirrored."""
    digest = hashlib.sha256(username.casefold().encode("utf-8")).digest()
    hue = digest[0] * 360 // 256
    colour = f"hsl({hue},55%,45%)"
    cells = []
    for row in range(_GRID):
        for column in range((_GRID + 1) // 2):
            if digest[1 + row * 3 + column] % 2:
                for x in {column, _GRID - 1 - column}:
                    cells.append(f'<rect x="{x + 1}" y="{row + 1}" width="1" height="1"/>')
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 7 7" shape-rendering="crispEdges">'
        f'<rect width="7" height="7" fill="#f0f0f0"/><g fill="{colour}">{"".join(cells)}</g></svg>'
    )
