"""French typography in the catalogue and the templates (issue 15).

A no-break space (U+00A0, or the narrow U+202F) before : ; ? ! and inside « »,
and the typographic apostrophe ’. The publish API folds these to ASCII at the
edge (packages/responses.py), so clients still print plain status lines.
"""

import re
from pathlib import Path

import polib
import pytest

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "locale" / "fr" / "LC_MESSAGES" / "django.po"
NO_BREAK = "\u00a0\u202f"


def problems(text: str) -> list[str]:
    found = []
    # Only text, not HTML tags (an attribute may quote with ').
    prose = "".join(part for part in re.split(r"(<[^>]*>)", text) if not part.startswith("<"))
    if re.search(r"[ \t][:;?!]", prose):
        found.append("a plain space before : ; ? or !")
    if re.search(rf"[^\s{NO_BREAK}][;?!](\s|$)", prose):
        found.append("no space before ; ? or !")
    if re.search(rf"[^{NO_BREAK}]:(\s|$)", prose):
        found.append("no no-break space before :")
    if re.search(rf"«(?![{NO_BREAK}])|(?<![{NO_BREAK}])»", prose):
        found.append("« » without no-break spaces inside")
    if "'" in prose:
        found.append("a straight apostrophe")
    return found


def french_strings():
    for entry in polib.pofile(str(PO)):
        if entry.obsolete or not entry.msgid:
            continue
        strings = entry.msgstr_plural.values() if entry.msgid_plural else [entry.msgstr]
        for text in strings:
            yield entry.msgid, text


def test_the_rules_themselves():
    assert "a plain space before : ; ? or !" in problems("Motif : oui")
    assert problems("Motif\u00a0: oui ; « non »") == [
        "a plain space before : ; ? or !",
        "« » without no-break spaces inside",
    ]
    assert problems("l'ID") == ["a straight apostrophe"]
    assert problems("Clé\u00a0: « x » ?") != []
    assert problems("Clé\u00a0: «\u00a0x\u00a0»\u00a0? l’ID <a href='x'>") == []
    assert problems("https://example.com/x?y=1") == []


def test_every_french_message_follows_french_typography():
    bad = {msgid: problems(text) for msgid, text in french_strings() if problems(text)}
    assert not bad, bad


# Templates put punctuation around translated words ("{% translate 'Reason' %}:");
# in French that colon needs its space too, so the colon belongs in the message.
LABEL_THEN_COLON = re.compile(r"\{%\s*translate\s+\"[^\"]+\"\s*%\}\s*:")


@pytest.mark.parametrize(
    "template", sorted((ROOT / "templates").rglob("*.*")), ids=lambda p: str(p.relative_to(ROOT))
)
def test_templates_keep_punctuation_inside_the_translated_text(template):
    text = template.read_text(encoding="utf-8")
    assert not LABEL_THEN_COLON.search(text), LABEL_THEN_COLON.search(text).group(0)
