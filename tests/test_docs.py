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
