"""The documentation stays true to the code: the hook reference is generated, links resolve."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from mava_core import hookdoc

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
HOOKS_MD = DOCS / "hooks.md"

#: inline Markdown links and images: [text](target) / ![alt](target "title")
_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"`[^`\n]*`")


def _markdown_files():
    files = sorted(DOCS.rglob("*.md"))
    readme = ROOT / "README.md"
    if readme.exists():
        files.append(readme)
    return files


def _relative_links(path: Path):
    """Relative link targets in a Markdown file, ignoring code blocks and code spans."""
    text = _CODE_SPAN.sub("", _FENCE.sub("", path.read_text()))
    for target in _LINK.findall(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE) or target.startswith(("#", "/")):
            continue  # external (http:, mailto:), in-page anchors and site-absolute paths
        yield target


def test_hook_reference_is_up_to_date():
    expected = hookdoc.render_hook_reference()
    actual = HOOKS_MD.read_text() if HOOKS_MD.exists() else ""
    assert actual == expected, f"docs/hooks.md is stale; regenerate it with: {hookdoc.REGENERATE}"


def test_every_hookspec_is_documented():
    names = hookdoc.hook_names()
    assert names, "no hook specifications found in mava_core.hookspecs"
    text = HOOKS_MD.read_text()
    missing = [name for name in names if f"### {name}" not in text]
    assert not missing, f"hooks missing from docs/hooks.md: {missing}; regenerate with: {hookdoc.REGENERATE}"


def test_hookdoc_finds_every_spec_the_plugin_manager_knows():
    from mava_core.plugins import PluginManager

    pm = PluginManager(load_entry_points=False)
    known = {name for name in vars(pm.hook) if not name.startswith("_") and getattr(pm.hook, name).has_spec()}
    assert set(hookdoc.hook_names()) == known


@pytest.mark.parametrize("path", _markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(path):
    broken = []
    for target in _relative_links(path):
        file_part = target.split("#", 1)[0].split("?", 1)[0]
        if file_part and not (path.parent / file_part).exists():
            broken.append(target)
    assert not broken, f"{path.relative_to(ROOT)} links to missing files: {broken}"


# ----------------------------------------------------- the docs' own mava commands and outputs
_SHELL_BLOCK = re.compile(r"^```\n(\$ .*?)^```", re.MULTILINE | re.DOTALL)
_MAVA = re.compile(r"^\$ (?:\.venv/bin/)?mava (.*)$")


def _builtin_plugins():
    """The plugin names setup.py declares (what a fresh checkout lists)."""
    import ast

    tree = ast.parse((ROOT / "setup.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "builtin_plugins" for t in node.targets):
            return {ast.literal_eval(item).split("=")[0].strip() for item in node.value.elts}
    raise AssertionError("setup.py defines no builtin_plugins list")


def _documented_mava_commands(path: Path):
    """(argv, expected output lines) of every ``$ mava ...`` transcript in ``path``.

    Transcripts that show a package the docs install first (the example plugins) or that
    elide output with ``...`` are left to the tests of those packages.
    """
    for block in _SHELL_BLOCK.findall(path.read_text()):
        if "matching" in block or "\n...\n" in f"\n{block}":
            continue
        command, expected = None, []
        for line in block.splitlines() + ["$ end"]:
            if line.startswith("$ "):
                if command is not None:
                    yield command, [out for out in expected if out]
                match = _MAVA.match(line)
                command, expected = (match.group(1).split() if match else None), []
            elif command is not None:
                expected.append(line)


def _only_builtin(lines, builtin):
    """Drop lines about plugins other than the built-in ones (a test may have installed one)."""
    kept = []
    for line in lines:
        owner = re.search(r"\[plugin: ([^\]]+)\]$", line)
        first = line.split(" ", 1)[0]
        if owner and owner.group(1) not in builtin:
            continue
        if not owner and re.match(r"^[a-z_]+\s+\S+\s+(loaded|failed|blocked)\s", line) and first not in builtin:
            continue
        kept.append(line)
    return kept


TRANSCRIPTS = [
    pytest.param(argv, expected, id=f"{path.name}: mava {' '.join(argv)}")
    for path in (DOCS / "configuration.md", DOCS / "plugins.md")
    for argv, expected in _documented_mava_commands(path)
]


def test_the_docs_show_transcripts_of_mava_commands():
    assert len(TRANSCRIPTS) >= 20  # the error messages of configuration.md and plugins.md's listings


@pytest.mark.parametrize("argv, expected", TRANSCRIPTS)
def test_a_documented_mava_command_prints_what_the_docs_show(argv, expected, capsys, monkeypatch, tmp_path):
    from mava_core import cli, plugins
    from mava_core.system import SystemBuilder

    def no_training(self):  # what launch() does once the program is built and checked
        raise AssertionError("the documented command would train; its transcript shows an error")

    monkeypatch.setattr(SystemBuilder, "save_config", no_training)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MAVA_BLOCK_PLUGINS", raising=False)
    monkeypatch.setattr(plugins, "_DEFAULT", None)  # a fresh plugin manager, as a new `mava` process has
    cli.main(argv)
    captured = capsys.readouterr()
    printed = [line.rstrip() for line in (captured.out + captured.err).splitlines() if line.strip()]
    assert _only_builtin(printed, _builtin_plugins()) == [line.rstrip() for line in expected]
