"""mutmut's command line, also mutating functions wrapped in Django's sensitive_variables.

mutmut leaves every decorated function alone, since a decorator may have side
effects when the function is defined twice. Several rules here live in such
functions (the exchange, the feed's Basic sign-in, the key lookup) only because
they handle secrets; `sensitive_variables` and `method_decorator` merely wrap, so
mutmut's trampoline, which keeps a function's decorators, works for them.
"""

import sys

import libcst as cst
from libcst.metadata import PositionProvider
from mutmut.__main__ import cli
from mutmut.mutation import file_mutation

SAFE_DECORATORS = {"sensitive_variables", "method_decorator"}


def _name(expression: cst.BaseExpression) -> str:
    if isinstance(expression, cst.Call):
        expression = expression.func
    return expression.value if isinstance(expression, cst.Name) else ""


def _only_safe_decorators(node: cst.CSTNode) -> bool:
    return (
        isinstance(node, cst.FunctionDef)
        and bool(node.decorators)
        and all(_name(d.decorator) in SAFE_DECORATORS for d in node.decorators)
    )


_skip = file_mutation.MutationVisitor._skip_node_and_children


def _skip_node_and_children(self, node: cst.CSTNode) -> bool:
    if not _only_safe_decorators(node):
        return _skip(self, node)
    # mutmut's other rules for a function, without the one about decorators (the
    # decorators themselves are never mutated: mutmut skips Decorator nodes).
    position = self.get_metadata(PositionProvider, node, None)
    if position and position.start.line in self._ignored_node_lines:  # pragma: no mutate block
        self.ignored_functions.add(node.name.value)
        return True
    return node.name.value in file_mutation.NEVER_MUTATE_FUNCTION_NAMES


file_mutation.MutationVisitor._skip_node_and_children = _skip_node_and_children


def print_diffs(names: list[str]) -> None:
    """`launch.py diffs NAME...`: every mutant's diff, as JSON, in one process
    (`mutmut show` costs a start-up for each)."""
    import json

    from mutmut.mutation.diff_apply import get_diff_for_mutant

    print(json.dumps({name: get_diff_for_mutant(name) for name in names}))


if __name__ == "__main__":
    if sys.argv[1:2] == ["diffs"]:
        print_diffs(sys.argv[2:])
    else:
        sys.argv[0] = "mutmut"
        cli()
