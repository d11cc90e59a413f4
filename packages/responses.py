"""The publish API's answers, as NuGet clients print them.

NuGet clients print the HTTP reason phrase, not the body, so the message goes
in both. A status line can carry only Latin-1 on one line, and clients do not
even agree on that (the mono client prints "La cl? API a expir?"), so reason
phrases and warning headers are folded to plain ASCII here, at the edge; the
body keeps the full text, in the request's language.
"""

import re
import unicodedata

from django.conf import settings
from django.http import HttpResponse
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import ngettext

from apikeys.models import ApiKey

# Marks that do not decompose into a letter and an accent.
_PLAIN = str.maketrans(
    {
        "“": '"',
        "”": '"',
        "„": '"',
        "«": '"',
        "»": '"',
        "’": "'",
        "‘": "'",
        "…": "...",
        "–": "-",
        "—": "-",
        "œ": "oe",
        "Œ": "OE",
        "æ": "ae",
        "Æ": "AE",
        "ß": "ss",
    }
)


_GUILLEMETS = re.compile(r"«\s*|\s*»")


def plain_ascii(text: str, limit: int = 400) -> str:
    """`text` on one line of printable ASCII: accents dropped, typographic marks made plain."""
    # French puts a (no-break) space inside « »; the plain quotes hug the words.
    text = _GUILLEMETS.sub(lambda match: '"', text)
    decomposed = unicodedata.normalize("NFKD", text.translate(_PLAIN))
    text = "".join(c for c in decomposed if not unicodedata.combining(c))
    text = " ".join(text.split())  # every kind of space and line break becomes one space
    return "".join(c if " " <= c < "\x7f" else "?" for c in text)[:limit]


def expiry_warning(request, key: ApiKey) -> str | None:
    """nuget.org's X-NuGet-Warning for a key that expires soon: which key, when, where to act."""
    days = key.days_left()
    if days > ApiKey.EXPIRY_WARNING_DAYS:
        return None
    return ngettext(
        "Your API key '%(name)s' expires in %(days)d day. "
        "Visit %(url)s to regenerate it or create a new one.",
        "Your API key '%(name)s' expires in %(days)d days. "
        "Visit %(url)s to regenerate it or create a new one.",
        days,
    ) % {"name": key.name, "days": days, "url": request.build_absolute_uri(reverse("apikeys"))}


def answer(request, status: int, message: str = "", *, key=None, code: str = "") -> HttpResponse:
    """A plain-text answer whose reason phrase carries `message` (folded to ASCII)."""
    body = message + "\n" if message else ""
    response = HttpResponse(body, status=status, content_type="text/plain; charset=utf-8")
    if message:
        response.reason_phrase = plain_ascii(message)
    if code:
        response["X-Galley-Reason"] = code  # stable, for scripts; the text is translated
    if status == 401:
        response["WWW-Authenticate"] = f'ApiKey realm="{plain_ascii(settings.GALLEY_SITE_NAME)}"'
    if key is not None and (warning := expiry_warning(request, key)):
        response["X-NuGet-Warning"] = plain_ascii(warning)
    return response


# The only stored files a browser may show in place: raster images, which run nothing.
# SVG is an image that runs scripts; HTML, XML (a manifest) and the rest are downloads.
INLINE_CONTENT_TYPES = frozenset({"image/png", "image/jpeg", "image/gif"})


def stored_file_headers(filename: str, content_type: str) -> dict[str, str]:
    """Headers for any stored file served to a browser (a .nupkg, a manifest, an icon).

    Pushers write these files, and a manifest in the XHTML namespace renders as a page
    of this site (scripts, forms, a meta refresh). So only a raster image is shown in
    place; anything else is a download under `filename` (never the storage's internal
    name); and both are sandboxed with nothing allowed and never sniffed, which keeps
    them inert even where a browser shows them anyway.
    """
    inline = content_type in INLINE_CONTENT_TYPES
    return {
        "Content-Disposition": content_disposition_header(not inline, filename),
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "X-Content-Type-Options": "nosniff",
    }
