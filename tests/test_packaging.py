"""pyproject.toml and environment.yml describe the same environment."""

import re

import tomllib
import yaml

from cyclegan_lib.course.env import repo_root


def requirement_names(specs):
    return {re.split(r"[<>=!~ \[]", spec, maxsplit=1)[0].lower() for spec in specs}


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((repo_root() / "pyproject.toml").read_text())["project"]
    wanted = set(project["dependencies"]) | set(project["optional-dependencies"]["dev"])
    conda = yaml.safe_load((repo_root() / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in conda["dependencies"] if isinstance(d, dict))
    listed = {spec for spec in pip_section if not spec.startswith("-e")}
    assert listed == wanted
    assert "-e ." in pip_section
    assert any(str(d).startswith("python") for d in conda["dependencies"])


def test_console_script_points_at_cli():
    project = tomllib.loads((repo_root() / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["cyclegan"] == "cyclegan_lib.cli:main"


def test_cli_lists_commands(capsys):
    from cyclegan_lib.cli import main

    assert main([]) == 0
    assert "train" in capsys.readouterr().out
    assert main(["frobnicate"]) == 2
    assert "unknown command 'frobnicate'" in capsys.readouterr().err
