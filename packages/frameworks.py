"""Target framework monikers as people read them: "netstandard2.0" is ".NET Standard
2.0", "net8.0" ".NET 8.0", "net48" ".NET Framework 4.8" (nuget.org's Frameworks tab)."""

from __future__ import annotations

import re

_FAMILIES = [
    # (moniker prefix, friendly name, digits without dots are one digit per part)
    ("netstandard", ".NET Standard", False),
    ("netcoreapp", ".NET Core", False),
    ("netframework", ".NET Framework", False),
    ("uap", "Universal Windows Platform", False),
    ("monoandroid", "Mono Android", True),
    ("xamarinios", "Xamarin.iOS", True),
    ("xamarinmac", "Xamarin.Mac", True),
    ("tizen", "Tizen", False),
    ("net", ".NET Framework", True),  # net48, net472; net5.0+ below
]
_MONIKER = re.compile(r"([a-z]+)([0-9.]*)(-[a-z0-9.]+)?")
_SHORT_NAMES = {"dotnet": ".NET Platform", "native": "Native", "any": "Any"}


def _dotted(digits: str, compact: bool) -> str:
    if "." in digits or not compact:
        return digits
    return ".".join(digits)  # "472" is 4.7.2


def friendly_name(moniker: str) -> str:
    """The name nuget.org shows for a target framework moniker (unknown ones as written)."""
    text = moniker.strip().lower().lstrip(".")  # ".NETStandard2.0", as older nuspecs write it
    if text in _SHORT_NAMES:
        return _SHORT_NAMES[text]
    found = _MONIKER.fullmatch(text)
    if not found:
        return moniker
    family, digits, platform = found.group(1), found.group(2), found.group(3) or ""
    if family == "net" and digits and "." in digits and int(digits.split(".")[0]) >= 5:
        suffix = f" ({platform[1:].capitalize()})" if platform else ""
        return f".NET {digits}{suffix}"  # net8.0, net8.0-windows
    for prefix, name, compact in _FAMILIES:
        if family == prefix:
            return f"{name} {_dotted(digits, compact)}".strip()
    return moniker


def package_frameworks(dependency_groups, lib_frameworks) -> list[dict]:
    """The package's target frameworks, from its dependency groups and lib/ folders,
    each once, in nuget.org's order of families, with the friendly name."""
    seen: dict[str, str] = {}  # name: moniker
    for moniker in [g.get("targetFramework", "") for g in dependency_groups] + list(lib_frameworks):
        name = friendly_name(moniker) if moniker.strip() else ""
        if name and name not in seen:
            seen[name] = moniker.strip()
    return [{"moniker": m, "name": n} for n, m in sorted(seen.items())]
