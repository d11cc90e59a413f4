"""A package's README (rendered and sanitised) and target frameworks' names."""

import re

import pytest

from packages import readme
from packages.frameworks import friendly_name, package_frameworks

HOSTILE = """# Title

<script>alert("readme")</script>

<img src="x" onerror="alert(1)">

[click](javascript:alert(1)) [data](data:text/html,hi) [ok](https://example.org/docs)

![tracker](https://tracker.example/pixel.png)

<a href="https://example.org" onclick="steal()">raw link</a>
"""


def test_markdown_renders_headings_code_and_tables():
    html = readme.render(
        "# Usage\n\n```csharp\nvar x = new Core();\n```\n\n| Option | Default |\n|---|---|\n| a | 1 |\n"
    )
    assert "<h1>Usage</h1>" in html
    assert '<pre><code class="language-csharp">var x = new Core();' in html
    assert "<table>" in html and "<th>Option</th>" in html and "<td>1</td>" in html


def test_hostile_readme_is_inert():
    html = readme.render(HOSTILE)
    tags = re.findall(r"<[a-z][^>]*>", html)  # real markup, not escaped text
    assert not [t for t in tags if t.startswith(("<script", "<iframe", "<style"))]
    assert not [t for t in tags if re.search(r"\son[a-z]+=", t)]  # no event attributes
    assert not [t for t in tags if re.search(r"(href|src)=\"(?!https://)", t)]
    assert "&lt;script&gt;" in html  # the script is shown as text
    assert "tracker.example" not in html  # no remote image by default
    assert '<a href="https://example.org/docs" rel="nofollow noopener">ok</a>' in html


def test_sanitiser_drops_scripts_event_attributes_and_unsafe_links():
    html = readme.sanitize(
        '<p onclick="x()">p</p><script>bad()</script><a href="javascript:bad()">j</a>'
        '<a href="vbscript:bad()">v</a><iframe src="https://e.example"></iframe>'
        '<img src="https://tracker.example/p.png" onload="x()"><style>*{}</style>'
    )
    assert html == '<p>p</p><a rel="nofollow noopener">j</a><a rel="nofollow noopener">v</a><img>'


def test_remote_images_are_dropped_unless_their_host_is_allowed(settings):
    markdown = "![logo](https://raw.example/logo.png) ![other](https://other.example/x.png)"
    assert "<img" in readme.render(markdown) and "src=" not in readme.render(markdown)
    settings.GALLEY_README_IMAGE_HOSTS = ["raw.example"]
    html = readme.render(markdown)
    assert '<img src="https://raw.example/logo.png" alt="logo">' in html
    assert "other.example" not in html


def test_images_over_plain_http_are_dropped_even_from_an_allowed_host(settings):
    settings.GALLEY_README_IMAGE_HOSTS = ["raw.example"]
    assert "src=" not in readme.render("![logo](http://raw.example/logo.png)")


@pytest.mark.parametrize(
    ("moniker", "name"),
    [
        ("netstandard2.0", ".NET Standard 2.0"),
        ("net8.0", ".NET 8.0"),
        ("net48", ".NET Framework 4.8"),
        ("net472", ".NET Framework 4.7.2"),
        ("netcoreapp3.1", ".NET Core 3.1"),
        (".NETStandard2.1", ".NET Standard 2.1"),
        (".NETFramework4.6.2", ".NET Framework 4.6.2"),
        ("net8.0-windows", ".NET 8.0 (Windows)"),
        ("something-else", "something-else"),
    ],
)
def test_frameworks_have_nuget_org_friendly_names(moniker, name):
    assert friendly_name(moniker) == name


def test_package_frameworks_come_from_dependency_groups_and_lib_folders_once():
    groups = [{"targetFramework": ".NETStandard2.0", "dependencies": []}, {"targetFramework": ""}]
    found = package_frameworks(groups, ["netstandard2.0", "net8.0"])
    assert [f["name"] for f in found] == [".NET 8.0", ".NET Standard 2.0"]
