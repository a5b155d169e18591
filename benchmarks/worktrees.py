"""The two source trees a side-by-side benchmark compares: a git ref checked out into a temporary
worktree ("base") and the working tree ("head"). Shared by ``compare_versions.py`` and
``compare_samples.py``."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def source_trees(ref: str) -> Iterator[dict[str, Path]]:
    """``{"base": <ref's src>, "head": <working tree's src>}``; the worktree is removed on exit."""
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        git = ["git", "-C", str(ROOT), "worktree"]
        subprocess.run([*git, "add", "--detach", "-q", str(base), ref], check=True)
        try:
            yield {"base": base / "src", "head": ROOT / "src"}
        finally:
            subprocess.run([*git, "remove", "--force", str(base)], check=True)
