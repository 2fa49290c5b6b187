"""The command and sweep packages import without a circle: none of their modules reaches itself
through its imports (at any depth, lazy imports inside functions included), and each imports
alone."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import seqnet

ROOT = Path(seqnet.__file__).parent


def module_of(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_of(path): path for path in sorted(ROOT.rglob("*.py"))}


def executed(tree: ast.AST) -> list[ast.AST]:
    """Every node of `tree` but those under `if TYPE_CHECKING:` (imports a type checker reads
    and the interpreter never runs: seqnet/__init__.py names its lazy exports that way)."""
    nodes: list[ast.AST] = []
    todo = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            todo.extend(node.orelse)
            continue
        nodes.append(node)
        todo.extend(ast.iter_child_nodes(node))
    return nodes


def imported(path: Path) -> set[str]:
    """The seqnet modules a file imports anywhere in it, at import or inside a function;
    `from seqnet.cli import train` is the module seqnet.cli.train when there is one."""
    found: set[str] = set()
    for node in executed(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in MODULES else node.module)
    return found & MODULES.keys()


def circles() -> list[list[str]]:
    """Each circle found by a depth-first walk, as the path that closes it."""
    graph = {name: imported(path) for name, path in MODULES.items()}
    found: list[list[str]] = []
    state: dict[str, str] = {}

    def walk(name: str, path: list[str]) -> None:
        state[name] = "open"
        for target in sorted(graph[name]):
            if state.get(target) == "open":
                found.append([*path[path.index(target) :], target])
            elif target not in state:
                walk(target, [*path, target])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            walk(name, [name])
    return found


def test_the_graph_sees_the_command_modules() -> None:
    # the walk must know the packages it guards, or an empty graph would pass
    assert {"seqnet.cli.app", "seqnet.cli.train", "seqnet.sweep.runner"} <= MODULES.keys()
    assert imported(MODULES["seqnet.cli"]) >= {"seqnet.cli.app", "seqnet.cli.train"}


PACKAGES = ("seqnet.cli", "seqnet.sweep")


def test_no_command_or_sweep_module_imports_itself_round_a_circle() -> None:
    assert [c for c in circles() if any(n.startswith(PACKAGES) for n in c)] == []


def test_each_cli_and_sweep_module_imports_alone() -> None:
    names = sorted(n for n in MODULES if n.startswith(PACKAGES))
    code = "import importlib, sys\nfor name in sys.argv[1:]:\n" + (
        "    for loaded in [m for m in sys.modules if m.startswith('seqnet')]:\n"
        "        del sys.modules[loaded]\n"
        "    importlib.import_module(name)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, *names], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
