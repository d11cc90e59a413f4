"""The architecture the README describes, checked: layers and public library APIs only."""

import ast
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Product code: every top-level package but the tests, the benchmarks and tools' folders.
OUTSIDE = {"tests", "bench", "node_modules", "static", "templates", "locale", "docs", "var"}


def product_files():
    for path in sorted(ROOT.glob("*/**/*.py")):
        top = path.relative_to(ROOT).parts[0]
        if top not in OUTSIDE and not top.startswith("."):
            yield path
    yield from sorted(ROOT.glob("*.py"))


def imported_modules(tree: ast.AST):
    for node in ast.walk(tree):  # function-local imports included
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.lineno, node.module
            for alias in node.names:
                yield node.lineno, f"{node.module}.{alias.name}"


def internal_allauth_imports(source: str) -> list[tuple[int, str]]:
    found = {}
    for line, module in imported_modules(ast.parse(source)):
        if module.split(".")[0] == "allauth" and "internal" in module.split("."):
            found.setdefault(line, module)
    return sorted(found.items())


def test_the_check_finds_internal_allauth_imports_however_written():
    source = (
        "from allauth.account.internal.flows.login import X\n"
        "import allauth.mfa.internal.flows\n"
        "from allauth.account import internal\n"
        "def f():\n    from allauth.core.internal import httpkit\n"
        "from allauth.account.authentication import AUTHENTICATION_METHODS_SESSION_KEY\n"
    )
    assert [line for line, _module in internal_allauth_imports(source)] == [1, 2, 3, 5]


def test_product_code_uses_only_allauths_public_api():
    """allauth's `internal` packages change without notice between releases."""
    found = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in product_files()
        for line, module in internal_allauth_imports(path.read_text())
    ]
    assert found == []


def test_the_apps_keep_their_layers():
    """`make lint` runs import-linter too; here the test suite does, so a climbing
    import fails both (the contract is in pyproject.toml)."""
    lint_imports = shutil.which("lint-imports") or str(
        Path(__file__).parents[1] / ".venv/bin/lint-imports"
    )
    result = subprocess.run(
        [lint_imports, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 1 kept, 0 broken." in result.stdout
