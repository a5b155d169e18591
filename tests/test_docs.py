"""The documentation site: built with --strict, offline, complete.

`make test` builds the site once (`make docs`) and points these tests at it with FLOPGRID_DOCS_SITE;
run alone, the module builds it itself into a temporary directory (about a minute: the worked examples
are executed).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from html import unescape
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar

import pytest
import typer.main

import flopgrid
from flopgrid.cli import app
from flopgrid.schema import VARIABLES

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("[0-9]*.py"))
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built site: the one `make docs` made, or a fresh strict build."""
    built = os.environ.get("FLOPGRID_DOCS_SITE")
    if built:
        path = Path(built)
        if not path.is_absolute():
            path = ROOT / path
        assert (path / "index.html").is_file(), f"FLOPGRID_DOCS_SITE={built} holds no built site"
        return path
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "DISABLE_MKDOCS_2_WARNING": "true"}
    subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    return out


class Links(HTMLParser):
    """Every (tag, attribute, value) of a page that makes the browser fetch something."""

    FETCHING: ClassVar[set[tuple[str, str]]] = {
        ("script", "src"),
        ("link", "href"),
        ("img", "src"),
        ("iframe", "src"),
        ("source", "src"),
    }

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if (tag, name) in self.FETCHING and value:
                self.found.append((tag, name, value))


def fetched(page: Path) -> list[tuple[str, str, str]]:
    parser = Links()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.found


def commands(command: Any, ctx: Any, names: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """The name path of every command and sub-command of the CLI."""
    for name in command.list_commands(ctx) if hasattr(command, "list_commands") else []:
        sub = command.commands[name]
        yield (*names, name)
        yield from commands(sub, sub.context_class(sub, info_name=name, parent=ctx), (*names, name))


def test_every_cli_command_has_a_page_with_its_help(site: Path) -> None:
    root = typer.main.get_command(app)
    found = list(commands(root, root.context_class(root, info_name="flopgrid")))
    assert ("run",) in found and ("runs", "list") in found
    for names in found:
        page = site / "reference" / "cli" / "-".join(names) / "index.html"
        assert page.is_file(), f"no page for flopgrid {' '.join(names)}"
        assert f"Usage: flopgrid {' '.join(names)}" in unescape(page.read_text(encoding="utf-8"))


def test_every_results_variable_is_in_the_glossary_with_its_unit(site: Path) -> None:
    text = (site / "variables" / "index.html").read_text(encoding="utf-8")
    rows = {
        unescape(match.group(1)): [unescape(re.sub(r"<[^>]+>", "", cell)).strip() for cell in cells]
        for row in re.findall(r"<tr>(.*?)</tr>", text, re.DOTALL)
        if (match := re.search(r"<td><code>([^<]+)</code></td>", row))
        for cells in [re.findall(r"<td>(.*?)</td>", row, re.DOTALL)]
    }
    assert set(VARIABLES) <= set(rows), f"missing: {sorted(set(VARIABLES) - set(rows))}"
    for name, variable in VARIABLES.items():
        assert rows[name][2] == variable.unit, f"{name}: unit {rows[name][2]!r}, expected {variable.unit!r}"


def test_every_public_name_and_module_is_in_the_api_reference(site: Path) -> None:
    index = (site / "reference" / "api" / "flopgrid" / "index.html").read_text(encoding="utf-8")
    for name in flopgrid.__all__:
        if not name.startswith("_"):
            # An export that shares its name with a submodule is documented where it is defined.
            defined = f"{getattr(flopgrid, name).__module__}.{name}"
            assert f'id="flopgrid.{name}"' in index or f'id="{defined}"' in index, f"flopgrid.{name}"
    for path in (ROOT / "src" / "flopgrid").rglob("*.py"):
        parts = path.relative_to(ROOT / "src").with_suffix("").parts
        if parts[-1] == "__main__" or any(p.startswith("_") and p != "__init__" for p in parts):
            continue
        page = site / "reference" / "api" / Path(*parts[:-1] if parts[-1] == "__init__" else parts)
        assert (page / "index.html").is_file(), f"no reference page for {'.'.join(parts)}"


@pytest.mark.parametrize("script", EXAMPLES, ids=[s.stem for s in EXAMPLES])
def test_every_example_is_executed_with_its_figures(site: Path, script: Path) -> None:
    page = site / "examples" / script.stem / "index.html"
    assert page.is_file(), f"{script.name} has no page"
    images = [value for tag, _, value in fetched(page) if tag == "img"]
    # Each figure is drawn by one plt.show() in the script.
    assert len(images) == script.read_text(encoding="utf-8").count("plt.show()") > 0
    for src in images:
        figure = (page.parent / src).resolve()
        assert figure.is_file() and figure.read_bytes().startswith(PNG_MAGIC), src
    # Executed, and no cell failed (a failing cell fails the build; this catches one printed anyway).
    assert "Traceback (most recent call last)" not in page.read_text(encoding="utf-8")


def test_site_fetches_nothing_from_the_network(site: Path) -> None:
    remote = [
        (str(page.relative_to(site)), value)
        for page in site.rglob("*.html")
        for _, _, value in fetched(page)
        if re.match(r"(https?:)?//", value)
    ]
    assert remote == []
    for sheet in site.rglob("*.css"):
        assert not re.search(r"@import\s+url\(\s*['\"]?(https?:)?//", sheet.read_text(encoding="utf-8"))


def test_equations_are_rendered_as_mathml(site: Path) -> None:
    text = (site / "model" / "index.html").read_text(encoding="utf-8")
    assert text.count("<math ") >= 10
    assert 'class="arithmatex"' not in text


def _public_objects() -> Iterator[tuple[str, Any]]:
    """Every public function and class defined in flopgrid, and the public methods of those classes."""
    import importlib
    import inspect
    import pkgutil

    for info in pkgutil.walk_packages(flopgrid.__path__, "flopgrid."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, obj in vars(module).items():
            defined_here = getattr(obj, "__module__", None) == module.__name__
            if (
                name.startswith("_")
                or not defined_here
                or not (inspect.isfunction(obj) or inspect.isclass(obj))
            ):
                continue
            yield f"{info.name}.{name}", obj
            if inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    if not attr.startswith("_") and inspect.isfunction(member):
                        yield f"{info.name}.{name}.{attr}", member


def test_every_public_function_and_class_has_a_docstring() -> None:
    # The API reference is generated from docstrings, so one missing is a hole in the site. The web
    # routes' handlers are documented by their OpenAPI summary, which /docs and the reference show.
    import importlib
    import pkgutil

    from fastapi.routing import APIRoute

    from flopgrid.web import routes

    summarised = {
        route.endpoint
        for info in pkgutil.iter_modules(routes.__path__, "flopgrid.web.routes.")
        for route in importlib.import_module(info.name).router.routes
        if isinstance(route, APIRoute) and route.summary
    }
    missing = [
        name for name, obj in _public_objects() if not (obj.__doc__ or "").strip() and obj not in summarised
    ]
    assert not missing, f"public names without a docstring: {', '.join(missing)}"
