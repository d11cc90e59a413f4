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


SENDING = {"send_mail", "send_mass_mail", "mail_admins", "mail_managers", "get_connection"}


def direct_sends(source: str) -> list[int]:
    """Lines that send mail themselves: django.core.mail's senders, or a message's
    argument-less .send() (a signal's send always names its sender)."""
    tree = ast.parse(source)
    lines = [
        line
        for line, module in imported_modules(tree)
        if module.startswith("django.core.mail.") and module.rsplit(".", 1)[1] in SENDING
    ]
    lines += [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "send"
        and not node.args
        and not node.keywords
    ]
    return sorted(set(lines))


def test_the_check_finds_mail_sent_directly():
    source = (
        "from django.core.mail import send_mail, EmailMessage\n"
        "EmailMessage('s', 'b', to=['a@example.com']).send()\n"
        "signal.send(sender=None)\n"
        "from django.core.mail import mail_admins\n"
    )
    assert direct_sends(source) == [1, 2, 4]


def test_every_mail_goes_through_the_one_send_path():
    """accounts/emails.py renders and queues every mail, and its task alone sends:
    anything else would send inside the request, or skip the retries."""
    found = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in product_files()
        if path.relative_to(ROOT) != Path("accounts/emails.py")
        for line in direct_sends(path.read_text())
    ]
    assert found == []


def test_no_product_function_is_longer_than_a_screen():
    """STYLE.md: each function short enough to read at once (about 60 lines)."""
    longest = 62
    found = []
    for app in ("accounts", "apikeys", "audit", "config", "core", "packages", "trustedpublishing"):
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    lines = node.end_lineno - node.lineno + 1
                    if lines > longest:
                        found.append(f"{path.relative_to(ROOT)}:{node.name} ({lines} lines)")
    assert found == []
