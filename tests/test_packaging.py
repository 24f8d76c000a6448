"""What `pip install .` gives: a complete wheel, a working `aabent` without the checkout, extras
that match the jobs, and import names that are this distribution's own."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
OWN = ("services", "hardware", "kiosk")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel built from a copy of the sources, installed (not editable) into a folder."""
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    src.mkdir()
    for name in OWN:
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    wheel = ["wheel", "--no-deps", "--no-build-isolation", "-w", str(base / "dist"), str(src)]
    subprocess.run([*pip, *wheel], check=True, capture_output=True)
    (found,) = (base / "dist").glob("aabent-*.whl")
    target = base / "site"
    install = ["install", "--no-deps", "--no-compile", "--target", str(target), str(found)]
    subprocess.run([*pip, *install], check=True, capture_output=True)
    return target


def run_installed(target: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run with the installed copy first on the path, from a folder that is not the checkout;
    ``aabent`` is the console script the wheel installed."""
    env = os.environ | {"PYTHONPATH": str(target)}
    command = [str(target / "bin" / "aabent")] if args[0] == "aabent" else [sys.executable]
    rest = args[1:] if args[0] == "aabent" else args
    return subprocess.run(
        [*command, *rest], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )


PROBE = """
import sys
from pathlib import Path
import services, hardware, kiosk
target = Path(sys.argv[1])
for package in (services, hardware, kiosk):
    assert Path(package.__file__).is_relative_to(target), package.__file__
from jinja2 import Environment, FileSystemLoader
from services.dashboard.app import STATIC
from services.dashboard.web import TEMPLATES
pages = Environment(loader=FileSystemLoader(TEMPLATES))
for page in ("login.html", "live.html", "stats.html", "base.html"):
    pages.get_template(page)
assert (STATIC / "dashboard.css").is_file() and (STATIC / "live.js").is_file()
from services.store.schema import open_database
open_database("sqlite:///" + sys.argv[2]).dispose()
from kiosk.i18n import Catalog
Catalog.load("da")
from kiosk.screens import KV_DIR
assert any(KV_DIR.glob("*.kv"))
print("ok")
"""


def test_a_non_editable_install_runs_aabent_without_the_checkout(
    installed: Path, tmp_path: Path
) -> None:
    config = tmp_path / "etc" / "aabent.toml"
    config.parent.mkdir()
    shutil.copy(ROOT / "config" / "aabent.toml", config)
    assert run_installed(installed, tmp_path, "aabent", "--help").returncode == 0
    checked = run_installed(installed, tmp_path, "aabent", "check-config", str(config))
    assert checked.returncode == 0, checked.stderr
    probe = run_installed(installed, tmp_path, "-c", PROBE, str(installed), str(tmp_path / "db"))
    assert probe.stdout.strip() == "ok", probe.stderr


def test_the_installed_default_config_is_not_inside_site_packages(
    installed: Path, tmp_path: Path
) -> None:
    probe = "from services.settings import DEFAULT_CONFIG; print(DEFAULT_CONFIG)"
    done = run_installed(installed, tmp_path, "-c", probe)
    assert done.returncode == 0, done.stderr
    assert not Path(done.stdout.strip()).is_relative_to(installed)


def test_import_names_belong_to_this_distribution() -> None:
    """PyPI also has distributions named services, hardware and kiosk: none may shadow ours."""
    owners = packages_distributions()
    for name in OWN:
        assert set(owners.get(name, [])) == {"aabent"}, (name, owners.get(name))
        module = importlib.import_module(name)
        assert module.__file__ is not None
        assert Path(module.__file__).resolve().is_relative_to(ROOT), module.__file__


def _distribution(requirement: str) -> str:
    name = requirement.split(";")[0]
    for stop in "[<>=!~ ":
        name = name.split(stop)[0]
    return name.lower().replace("_", "-")


def _needs(graph: grimp.ImportGraph, roots: tuple[str, ...]) -> set[str]:
    """The distributions the modules under ``roots`` import, directly or through ours."""
    ours: set[str] = set()
    for root in roots:
        ours |= {root, *graph.find_descendants(root)}
        ours |= graph.find_upstream_modules(root, as_package=True)
    owners = packages_distributions()
    needed = set()
    for module in ours:
        for imported in graph.find_modules_directly_imported_by(module):
            top = imported.split(".")[0]
            if top not in OWN and top in owners:
                needed |= {_distribution(d) for d in owners[top]}
    return needed - {"aabent"}


@pytest.mark.parametrize(
    ("extra", "roots"),
    [
        ("door", ("hardware",)),
        ("kiosk", ("kiosk",)),
        (
            "server",
            (
                "services.dashboard",
                "services.recorder",
                "services.catalogue",
                "services.program",
                "services.sip2",
            ),
        ),
    ],
)
def test_each_extra_installs_what_its_job_imports(extra: str, roots: tuple[str, ...]) -> None:
    graph = grimp.build_graph(*OWN, include_external_packages=True)
    project = PYPROJECT["project"]
    given = {
        _distribution(r)
        for r in [*project["dependencies"], *project["optional-dependencies"][extra]]
    }
    assert _needs(graph, roots) - given == set()
