"""The layout's import rule: what each part of the package may import.

    runtime   device, seeding, mixed precision            imports nothing of ours
    paper     networks, losses, pool, models              runtime
    pipeline  options, data, trainer, checkpoints, ...     runtime, paper
    cli       the ``cyclegan`` command                    runtime, paper, pipeline
    course    env, digits, judges, plotting, results      runtime, paper, pipeline
    lessons   lesson helpers, exercises, widgets          all of the above
    tools     notebook tooling, site, grader, test data   all of the above and lessons

The paper, its pipeline and the CLI are the reference-faithful library: they never import
the course, so a reader can lift them out alone. (``cyclegan grade`` is dispatched by
name to ``tools.grading``, not imported.) A module that breaks the rule fails here, with
the offending line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import cyclegan_lib

PACKAGE = Path(cyclegan_lib.__file__).parent
PAPER = {"networks", "losses", "pool", "models"}
CORE = {"runtime", "paper", "pipeline"}
ALLOWED = {
    "runtime": set(),
    "paper": {"runtime"},
    "pipeline": {"runtime", "paper"},
    "cli": CORE,
    "course": CORE,
    "lessons": CORE | {"cli", "course"},
    "tools": CORE | {"cli", "course", "lessons"},
}


def part_of(module: str) -> str | None:
    """``cyclegan_lib.pipeline.trainer`` -> ``pipeline``; None outside the package."""
    parts = module.split(".")
    if parts[0] != "cyclegan_lib":
        return None
    if len(parts) == 1:
        return "runtime"  # the package's own __init__: a docstring and a version
    return "paper" if parts[1] in PAPER else parts[1] if parts[1] in ALLOWED else None


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, is_package: bool) -> list[tuple[int, str]]:
    """Every module ``source`` imports (relative imports resolved), with its line number."""
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((node.lineno, base))
            found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


def forbidden_imports(source: str, module: str, is_package: bool = False) -> list[str]:
    own = part_of(module)
    return [
        f"{module}:{line} imports {name}"
        for line, name in imported_modules(source, module, is_package)
        if (target := part_of(name)) not in (None, own) and target not in ALLOWED[own]
    ]


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__main__.py")


def test_every_module_belongs_to_a_part():
    assert [m for m in modules() if part_of(module_name(m)) is None] == []


@pytest.mark.parametrize("path", modules(), ids=module_name)
def test_imports_follow_the_rule(path: Path):
    assert forbidden_imports(path.read_text(), module_name(path), path.name == "__init__.py") == []


@pytest.mark.parametrize(
    ("module", "line"),
    [
        ("cyclegan_lib.losses", "from cyclegan_lib.course import env"),
        ("cyclegan_lib.models", "from .pipeline import trainer"),
        ("cyclegan_lib.pipeline.trainer", "import cyclegan_lib.lessons.full_scale"),
        ("cyclegan_lib.cli.train", "from ..tools import grading"),
    ],
)
def test_the_rule_catches_each_kind_of_forbidden_import(module, line):
    assert forbidden_imports(line, module) != []
