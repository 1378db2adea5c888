"""The package keeps its shape: folders in pipeline order with imports one way, no cycles, small
modules with distinct names, no block written twice, and the library never imports tasks/."""
import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "nlptransfer"

# Lower ranks never import higher ones. Top-level modules are units of their own: the registries
# and the configuration at the bottom, the entry points (command line, recipe) at the top.
RANK = {"errors": 0, "atomic_files": 0, "samples": 0, "task_types": 1, "strategies": 1, "layer_map": 1,
        "config_fields": 1, "config": 2, "multi_task_config": 2, "data": 3, "models": 4, "training": 5, "evaluation": 6, "estimators": 7, "comparison": 8,
        "selection": 6, "serving": 9, "recipe": 10, "cli": 11, "__init__": 11, "__main__": 12}
MAX_LINES = 300


def _modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package."""
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _is_type_checking(node) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _imports(name: str, path: Path) -> set[str]:
    """Absolute nlptransfer modules that ``name`` imports, at any depth (function-level imports
    count too), except under ``if TYPE_CHECKING:``."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    todo = [ast.parse(path.read_text())]
    while todo:
        node = todo.pop()
        if _is_type_checking(node):
            continue
        todo.extend(ast.iter_child_nodes(node))
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found |= {f"{base}.{a.name}" for a in node.names}  # "from . import plots" imports a module
    return {m for m in found if m == "nlptransfer" or m.startswith("nlptransfer.") or m.split(".")[0] == "tasks"}


def _unit(module: str) -> str:
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {name: {m for m in _imports(name, path) if m in modules and m != name} for name, path in modules.items()}


def test_every_unit_has_a_rank():
    assert {_unit(m) for m in _modules()} == set(RANK)


def test_imports_only_go_down_the_pipeline():
    upward = [f"{a} imports {b}" for a, deps in _graph().items() for b in deps if RANK[_unit(b)] > RANK[_unit(a)]]
    assert upward == []


def test_no_import_cycles():
    graph, state, cycles = _graph(), {}, []

    def visit(node, stack):
        state[node] = "open"
        for dep in sorted(graph[node]):
            if state.get(dep) == "open":
                cycles.append(" -> ".join(stack[stack.index(dep):] + [dep]))
            elif dep not in state:
                visit(dep, stack + [dep])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_the_library_never_imports_tasks():
    offenders = [name for name, path in _modules().items() if any(m.split(".")[0] == "tasks"
                                                                   for m in _imports(name, path))]
    assert offenders == []
    text = "\n".join(p.read_text() for p in PACKAGE.rglob("*.py"))
    assert "import tasks" not in text and "from tasks" not in text


def test_task_scripts_use_only_public_names():
    for script in (ROOT / "tasks").glob("*.py"):
        for node in ast.walk(ast.parse(script.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("nlptransfer"):
                assert not any(a.name.startswith("_") for a in node.names), f"{script.name}: {ast.unparse(node)}"


def test_modules_are_small_and_distinctly_named():
    sizes = {p.relative_to(ROOT).as_posix(): len(p.read_text().splitlines()) for p in PACKAGE.rglob("*.py")}
    assert {k: v for k, v in sizes.items() if v > MAX_LINES} == {}
    stems = defaultdict(list)
    for path in PACKAGE.rglob("*.py"):
        if path.name != "__init__.py":
            stems[path.stem].append(path.relative_to(PACKAGE).as_posix())
    assert {s: where for s, where in stems.items() if len(where) > 1} == {}
    assert "utils" not in stems and "helpers" not in stems


def _code_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, stripped line) of lines that carry logic: no blanks, comments, imports or
    docstring-only lines."""
    out = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        text = line.strip()
        if text and not text.startswith(("#", "import ", "from ", '"""', "@", ")", "]", "}")) and len(text) > 8:
            out.append((number, text))
    return out


@pytest.mark.parametrize("window", [6])
def test_no_block_is_written_twice(window):
    seen, repeats = {}, []
    for path in sorted(PACKAGE.rglob("*.py")):
        lines = _code_lines(path)
        for i in range(len(lines) - window + 1):
            block = tuple(text for _, text in lines[i:i + window])
            where = f"{path.relative_to(ROOT)}:{lines[i][0]}"
            if block in seen and not seen[block].startswith(str(path.relative_to(ROOT)) + ":"):
                repeats.append(f"{where} repeats {seen[block]}")
            seen.setdefault(block, where)
    assert repeats == []
