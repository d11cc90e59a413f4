"""Identicons (accounts/avatars.py) and the {% avatar %} tag."""

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


def test_avatar_tag_renders_the_identicon_as_decoration(db, alice):
    """The name is always written beside an avatar, so the picture is hidden from
    screen readers rather than read out twice."""
    html = Template("{% load avatars %}{% avatar account 48 %}").render(Context({"account": alice}))
    assert html == identicon_svg("alice", 48)
    assert 'width="48" height="48"' in html and 'aria-hidden="true"' in html
