"""Identicons (accounts/avatars.py) and the {% avatar %} tag."""

import base64

import defusedxml.ElementTree
from django.template import Context, Template

from accounts.avatars import identicon_svg


def test_identicon_is_the_same_for_a_name_in_any_case_and_differs_between_names():
    assert identicon_svg("Alice") == identicon_svg("alice")
    assert identicon_svg("alice") != identicon_svg("bob")


def test_identicon_is_well_formed_svg_with_only_shapes():
    root = defusedxml.ElementTree.fromstring(identicon_svg("fabrikam"))
    tags = {element.tag.rpartition("}")[2] for element in root.iter()}
    assert tags <= {"svg", "rect", "g"}


def test_avatar_tag_renders_an_image_with_alt_text(db, alice):
    html = Template("{% load avatars %}{% avatar account 48 %}").render(Context({"account": alice}))
    assert 'width="48" height="48" alt="alice’s avatar"' in html
    data = html.split("base64,", 1)[1].split('"', 1)[0]
    assert base64.b64decode(data).decode() == identicon_svg("alice")
