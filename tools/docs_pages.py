"""Generate the site's pages that come from the code, at build time (run by mkdocs-gen-files).

Nothing here is written to disk: the pages live in mkdocs' virtual file set, so they cannot go stale.

- ``reference/api/…``: one page per module of ``src/flopgrid`` (the mkdocstrings recipe), so modules
  that are added, moved or split appear without editing the docs;
- ``reference/cli/…``: one page per CLI command and sub-command, from the Typer app's own help;
- ``variables.md``: the glossary of Results variables, from the Results schema;
- ``examples/…``: the worked examples (Jupytext percent scripts in ``examples/``), executed in a fresh
  kernel, with their figures as PNG files beside the page.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import jupytext
import mkdocs_gen_files
import typer.main
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from nbconvert import MarkdownExporter

import flopgrid
from flopgrid.cli import app
from flopgrid.schema import glossary

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src"
EXAMPLES = ROOT / "examples"
#: Seconds one example cell may run before the build fails (CI has two cores).
CELL_TIMEOUT = 600


def api_pages() -> None:
    """One reference page per public module, and the literate-nav summary that orders them."""
    nav = mkdocs_gen_files.Nav()
    for path in sorted((SRC / "flopgrid").rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__main__" or any(p.startswith("_") and p != "__init__" for p in parts):
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
            doc = Path("reference", "api", *parts, "index.md")
        else:
            doc = Path("reference", "api", *parts).with_suffix(".md")
        nav[tuple(parts)] = doc.relative_to("reference/api").as_posix()
        with mkdocs_gen_files.open(doc, "w") as page:
            page.write(f"# `{'.'.join(parts)}`\n\n::: {'.'.join(parts)}\n")
            if parts == ["flopgrid"]:
                page.write(shadowed_exports())
        mkdocs_gen_files.set_edit_path(doc, path.relative_to(ROOT))
    with mkdocs_gen_files.open("reference/api/SUMMARY.md", "w") as summary:
        summary.writelines(nav.build_literate_nav())


def shadowed_exports() -> str:
    """Directives for the package's exports that share their name with a submodule.

    ``flopgrid.plan`` is both a subpackage and the function it exports; the static analysis behind
    mkdocstrings sees the subpackage, so the function is documented here from where it is defined.
    """
    blocks = []
    for name in flopgrid.__all__:
        export = getattr(flopgrid, name)
        if callable(export) and any((SRC / "flopgrid" / f).exists() for f in (name, f"{name}.py")):
            blocks.append(f"\n::: {export.__module__}.{name}\n    options:\n      show_root_heading: true\n")
    return "".join(blocks)


def plain_help(command: Any, ctx: Any) -> str:
    """A command's help as click formats it (Typer's rich panels switched off: plain, stable text)."""
    if hasattr(command, "rich_markup_mode"):
        command.rich_markup_mode = None
    return command.get_help(ctx)


def cli_pages() -> None:
    """One page per command of the ``flopgrid`` CLI (and per sub-command of a group)."""
    # Typer may bring its own copy of click: every object is made through the command's own classes.
    root = typer.main.get_command(app)
    root_ctx = root.context_class(root, info_name="flopgrid")
    index = ["# Command line", "", "```text", plain_help(root, root_ctx), "```", "", "## Commands", ""]

    def visit(command: Any, ctx: Any, names: list[str]) -> None:
        slug = "-".join(names)
        usage = " ".join(["flopgrid", *names])
        index.append(f"{'  ' * (len(names) - 1)}- [`{usage}`]({slug}.md): {command.get_short_help_str(90)}")
        with mkdocs_gen_files.open(f"reference/cli/{slug}.md", "w") as page:
            page.write(f"# `{usage}`\n\n{command.help or ''}\n\n```text\n{plain_help(command, ctx)}\n```\n")
        for name in command.list_commands(ctx) if hasattr(command, "list_commands") else []:
            sub = command.commands[name]
            visit(sub, sub.context_class(sub, info_name=name, parent=ctx), [*names, name])

    for name in root.list_commands(root_ctx):
        command = root.commands[name]
        visit(command, command.context_class(command, info_name=name, parent=root_ctx), [name])
    with mkdocs_gen_files.open("reference/cli/index.md", "w") as page:
        page.write("\n".join(index) + "\n")


def glossary_page() -> None:
    """The Results variables with their units (replaces docs/variables.md, so it follows the schema)."""
    with mkdocs_gen_files.open("variables.md", "w") as page:
        page.write(glossary())


def example_pages() -> None:
    """Execute each worked example and render it as a Markdown page with its figures beside it."""
    exporter = MarkdownExporter()
    for script in sorted(EXAMPLES.glob("[0-9]*.py")):
        notebook = jupytext.read(script)
        # A scratch directory: the examples write run stores and scenario files and must not touch the
        # checkout; the environment passes on to the kernel so that it imports this tree's flopgrid.
        with tempfile.TemporaryDirectory(prefix=f"flopgrid-{script.stem}-") as scratch:
            # IPC, not TCP: the kernel needs no network, not even loopback (the build runs offline).
            kernel = KernelManager(kernel_name="python3", transport="ipc", ip=str(Path(scratch, "kernel")))
            client = NotebookClient(
                notebook, km=kernel, timeout=CELL_TIMEOUT, resources={"metadata": {"path": scratch}}
            )
            client.execute(env={**os.environ, "FLOPGRID_STORE": str(Path(scratch, "runs.duckdb"))})
        body, resources = exporter.from_notebook_node(
            notebook, resources={"unique_key": script.stem, "output_files_dir": f"{script.stem}_files"}
        )
        with mkdocs_gen_files.open(f"examples/{script.stem}.md", "w") as page:
            page.write(body)
        for name, data in resources.get("outputs", {}).items():
            with mkdocs_gen_files.open(f"examples/{name}", "wb") as figure:
                figure.write(data)
        mkdocs_gen_files.set_edit_path(f"examples/{script.stem}.md", script.relative_to(ROOT))


api_pages()
cli_pages()
glossary_page()
example_pages()
