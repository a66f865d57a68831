"""The production import graph: no cycles, and every name imported from the module that owns it.

Read from the source with ``ast`` (nothing is imported), over the packages broadcaster, audio,
schedules and web (Alembic's migration scripts aside). Imports under ``if TYPE_CHECKING:`` are
left out: they never run. Imports inside functions count: a lazy import still ties two modules.
A name "owned" by a module is one it binds by def, class or assignment; a name it binds only by
importing it is a re-export, and production code imports it from where it is defined instead.
(Tests and benchmarks may still import through re-exports; only production code is checked.)
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("broadcaster", "audio", "schedules", "web")


@dataclass
class Module:
    name: str
    path: Path
    is_package: bool
    tree: ast.Module
    defined: set[str] = field(default_factory=set)  # bound by def, class or assignment
    imported: set[str] = field(default_factory=set)  # bound only by an import

    @property
    def package(self) -> str:
        return self.name if self.is_package else self.name.rpartition(".")[0]


def _modules() -> dict[str, Module]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if "migrations" in parts:
                continue
            is_package = parts[-1] == "__init__"
            if is_package:
                parts.pop()
            name = ".".join(parts)
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            found[name] = Module(name, path.relative_to(ROOT), is_package, tree)
    for module in found.values():
        _bindings(module, module.tree.body)
    return found


def _is_type_checking(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _bindings(module: Module, body: list[ast.stmt]) -> None:
    """The names a module's top level binds, by how (descending into if/try/with blocks)."""
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            module.defined.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                module.imported.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, ast.If | ast.Try | ast.With | ast.For | ast.While):
            blocks = ("orelse",) if _is_type_checking(node) else ("body", "orelse", "finalbody")
            for block in blocks:
                _bindings(module, getattr(node, block, []))
            for handler in getattr(node, "handlers", []):
                _bindings(module, handler.body)
        else:
            for sub in ast.walk(node):
                if isinstance(sub, ast.Name) and isinstance(sub.ctx, ast.Store):
                    module.defined.add(sub.id)
    module.imported -= module.defined


@dataclass(frozen=True)
class Import:
    importer: str
    line: int
    source: str  # the module named in the import statement
    name: str | None  # for "from source import name"


def _imports(module: Module, packages: tuple[str, ...] = PACKAGES) -> list[Import]:
    """Every import statement of the module, at any depth, into ``packages``."""
    out: list[Import] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.Import):
            out.extend(Import(module.name, node.lineno, a.name, None) for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            source = node.module or ""
            if node.level:  # relative: from the package, up level - 1
                parts = module.package.split(".")
                source = ".".join([*parts[: len(parts) - node.level + 1], *filter(None, [source])])
            out.extend(Import(module.name, node.lineno, source, a.name) for a in node.names)
        for child in ast.iter_child_nodes(node):
            if _is_type_checking(child):
                for stmt in child.orelse:  # type: ignore[attr-defined]
                    visit(stmt)
            else:
                visit(child)

    visit(module.tree)
    return [i for i in out if i.source.split(".")[0] in packages]


MODULES = _modules()
IMPORTS = [i for m in MODULES.values() for i in _imports(m)]


def _target(imp: Import, modules: dict[str, Module]) -> str:
    """The module an import makes the importer depend on (``from p import sub``: p.sub)."""
    if imp.name is not None and f"{imp.source}.{imp.name}" in modules:
        return f"{imp.source}.{imp.name}"
    return imp.source


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _graph(modules: dict[str, Module], imports: list[Import]) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for imp in imports:
        target = _target(imp, modules)
        if target in modules and target != imp.importer:
            graph[imp.importer].add(target)
    return graph


def _reexports(modules: dict[str, Module], imports: list[Import]) -> list[str]:
    """``FILE:LINE: name from module, which imports it`` for each import of a re-exported name."""
    found = []
    for imp in imports:
        source = modules.get(imp.source)
        if imp.name in (None, "*") or source is None or _target(imp, modules) != imp.source:
            continue
        if imp.name in source.imported:
            where = modules[imp.importer].path
            found.append(f"{where}:{imp.line}: {imp.name} from {imp.source}, which imports it")
    return found


def _toy(**sources: str) -> tuple[dict[str, Module], list[Import]]:
    modules = {}
    for name, source in sources.items():
        module = Module(name, Path(f"{name}.py"), False, ast.parse(source))
        _bindings(module, module.tree.body)
        modules[name] = module
    imports = [i for m in modules.values() for i in _imports(m, tuple(sources))]
    return modules, imports


def test_the_checks_see_a_loop_and_a_reexport() -> None:
    """The reader on toy modules, so that an empty or blind graph cannot pass the tests below."""
    modules, imports = _toy(
        a="from b import B\nB2 = B\n",
        b="from c import C as B\ndef f():\n    import a\n",
        c="C = 1\ntry:\n    from a import B2\nexcept ImportError:\n    B2 = None\n",
    )
    assert _cycles(_graph(modules, imports)) == [["a", "b", "c"]]
    assert _reexports(modules, imports) == ["a.py:1: B from b, which imports it"]
    assert {"broadcaster.models", "schedules.workflow", "web", "audio.render"} <= set(MODULES)
    assert any(i.importer == "web" and i.source.startswith("web.") for i in IMPORTS)


def test_no_import_cycles() -> None:
    assert _cycles(_graph(MODULES, IMPORTS)) == []


def test_no_import_goes_through_a_reexport() -> None:
    assert _reexports(MODULES, IMPORTS) == []
