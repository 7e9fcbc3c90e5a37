"""The docs: the site builds strictly, every `vw-agent` command written in them parses, and the README's
front-door facts (env ids, the test command CI runs) match the code."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import click
import gymnasium as gym
import pytest
from click.testing import CliRunner

import vw_envs
from vw_cli.main import cli

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

# Commands that cannot be parsed as written, and why. Keyed by the text after `vw-agent`.
SKIP: dict[str, str] = {}


def code_blocks(text: str) -> list[str]:
    """The shell code blocks of a markdown text: fenced as bash, sh, console, or with no language."""
    return [m[2] for m in re.finditer(r"^```(\w*)\n(.*?)^```", text, flags=re.M | re.S)
            if m[1] in ("", "bash", "sh", "shell", "console")]


def vw_agent_commands(block: str) -> list[list[str]]:
    """The arguments of each `vw-agent` (or `.venv/bin/vw-agent`) command in a shell block: continued lines joined,
    comments dropped, one command per segment between `&&`, `||`, `|` and `;`."""
    commands = []
    for line in block.replace("\\\n", " ").splitlines():
        segment: list[str] = []
        for token in [*shlex.split(line, comments=True), "&&"]:
            if token in ("&&", "||", "|", ";"):
                for i, t in enumerate(segment):
                    if t == "vw-agent" or t.endswith("/vw-agent"):
                        commands.append(segment[i + 1:])
                        break
                segment = []
            else:
                segment.append(token)
    return commands


def documented_commands() -> list[tuple[str, list[str]]]:
    return [(page.relative_to(ROOT).as_posix(), args) for page in PAGES
            for block in code_blocks(page.read_text(encoding="utf-8")) for args in vw_agent_commands(block)]


def parse_command(args: list[str]) -> click.Context:
    """Parse `vw-agent ARGS` as click would, without running it: the subcommand path, then every option and
    value of the leaf command (names, arity, types, callbacks). A path that must exist is not checked, as the
    command before it in the docs usually makes it."""
    args = list(args)
    if args[:1] == ["--debug"]:
        args.pop(0)
    cmd: click.Command = cli
    path = ["vw-agent"]
    while isinstance(cmd, click.Group):
        assert args and not args[0].startswith("-"), f"{' '.join(path)} needs a subcommand"
        sub = cmd.get_command(None, args[0])  # type: ignore[arg-type]
        assert sub is not None, f"no command {' '.join(path + args[:1])!r}"
        path.append(args.pop(0))
        cmd = sub
    try:
        return cmd.make_context(" ".join(path), args)
    except click.BadParameter as e:
        if isinstance(e.param.type, click.Path) and "does not exist" in e.format_message():
            return None  # type: ignore[return-value]
        raise


def test_commands_are_found():
    found = documented_commands()
    assert len(found) > 50
    pages = {page for page, _ in found}
    assert {"README.md", "docs/datasets.md", "docs/evaluation.md", "docs/baselines.md"} <= pages


def _command_id(x) -> str:
    return x if isinstance(x, str) else "-".join(x[:2])


@pytest.mark.parametrize(("page", "args"), documented_commands(), ids=_command_id)
def test_documented_command_parses(page, args):
    line = " ".join(args)
    if line in SKIP:
        pytest.skip(SKIP[line])
    try:
        parse_command(args)
    except click.ClickException as e:
        pytest.fail(f"{page}: `vw-agent {line}` does not parse: {e.format_message()}")
    # --help appended: click itself resolves the path and prints the leaf's help, exit code 0.
    res = CliRunner().invoke(cli, [*args, "--help"])
    assert res.exit_code == 0, f"{page}: `vw-agent {line} --help`: {res.output}"


def test_parse_command_catches_mistakes():
    parse_command(["play", "--env", "VideoGo-9x9-v0", "--black", "random"])
    for bad in (["plya"], ["data"], ["play", "--no-such-option"], ["play", "--env", "VideoChess-v0"],
                ["play", "--frame-size", "many"], ["eval", "go", "--players"]):
        with pytest.raises((AssertionError, click.ClickException)):
            parse_command(bad)
    assert vw_agent_commands("a && .venv/bin/vw-agent play --gif x.gif  # c\nvw-agent record \\\n  --out d\n") == [
        ["play", "--gif", "x.gif"], ["record", "--out", "d"]]


def test_readme_env_table_lists_every_registered_id():
    registered = [k for k in gym.registry if k.startswith(("VideoGo", "VideoTabletop"))]
    assert sorted(registered) == sorted(vw_envs.ENV_IDS)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    in_table = re.findall(r"^\| `(Video\w+-[\w-]+-v\d+)` \|", readme, flags=re.M)
    assert in_table == list(vw_envs.ENV_IDS)


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1]
    readme_block = code_blocks((ROOT / "README.md").read_text(encoding="utf-8"))[0]
    assert ci in readme_block.splitlines(), f"the README's test command is not .ci/run's: {ci!r}"
    setup = (ROOT / "scripts" / "setup.sh").read_text(encoding="utf-8")
    assert '-e ".[dev]"' in setup  # the dev extra brings pytest and mkdocs


def test_no_machine_paths():
    for page in [*PAGES, ROOT / "mkdocs.yml"]:
        for n, line in enumerate(page.read_text(encoding="utf-8").splitlines(), 1):
            assert not re.search(r"/(work|root|home|tmp)/", line), f"{page.name}:{n}: {line}"


def test_images_exist():
    for page in PAGES:
        base = ROOT if page.name == "README.md" else page.parent
        for src in re.findall(r'<img src="([^"]+)"', page.read_text(encoding="utf-8")):
            assert (base / src).is_file(), f"{page.name}: {src}"


def test_mkdocs_build_strict(tmp_path):
    """A broken link or anchor, or a page left out of the nav, fails the build."""
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    res = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-f", str(ROOT / "mkdocs.yml"),
                          "-d", str(tmp_path / "site")], capture_output=True, text=True, env=env, cwd=ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    home = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "Quick start: two commands" in home  # the home page is the README


def test_the_bad_input_table_names_tests_that_exist():
    """docs/errors.md says which test holds each row: each named file and test function must exist."""
    text = (ROOT / "docs" / "errors.md").read_text()
    refs = re.findall(r"`(tests/[\w/]+\.py)((?:::\w+)?)`", text)
    assert len(refs) >= 15 and "`::" not in text
    for path, name in refs:
        source = (ROOT / path).read_text()
        assert not name or f"def {name[2:]}(" in source, f"{path}{name} is not a test"
