"""Publishing settings: the repository URL lives in one setting (_config.yml `repository.url`); while it is empty the
book shows no button that cannot work; Binder's environment (environment.yml) pins what pyproject.toml pins; the
citation files are there."""

import re
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
URL = (CONFIG.get("repository") or {}).get("url") or ""
PLACEHOLDERS = ("github.com/fa-lab/fa_lab", "<org>", "example")


def test_repository_url_is_a_real_url_or_empty():
    assert URL == "" or (re.match(r"https://[^/]+/[^/]+/[^/]+/?$", URL) and not any(p in URL for p in PLACEHOLDERS)), \
        f"repository.url must be empty (unpublished) or the repository's real URL, not {URL!r}"


def test_buttons_only_with_a_repository():
    html = CONFIG.get("html") or {}
    launch = CONFIG.get("launch_buttons") or {}
    launchers = [k for k in ("binderhub_url", "jupyterhub_url", "colab_url", "deepnote_url", "jupyterlite_url")
                 if launch.get(k)] + (["thebe"] if launch.get("thebe") else [])
    buttons = [k for k in ("use_repository_button", "use_issues_button", "use_edit_page_button") if html.get(k)]
    if not URL:
        assert not launchers and not buttons, \
            f"repository.url is empty, so {launchers + buttons} would lead nowhere: set the URL (README, Publishing)"


def test_the_repository_url_is_written_nowhere_else():
    """One setting: the book's pages and README do not carry a second copy of a repository URL."""
    for path in [ROOT / "README.md", ROOT / "book" / "intro.md", ROOT / "CITATION.cff"]:
        text = path.read_text(encoding="utf-8")
        assert "github.com/fa-lab" not in text, path
        if URL:
            assert URL not in text or path.name == "CITATION.cff", f"{path}: the URL belongs in _config.yml only"


def test_unpublished_book_has_no_launch_or_repository_buttons():
    if not (HTML / "book" / "intro.html").exists():
        pytest.skip("the book is not built (_build/html missing): run `make book` first")
    if URL:
        pytest.skip("repository.url is set")
    for page in sorted((HTML / "book").glob("*.html")):
        text = page.read_text(encoding="utf-8")
        for marker in ("mybinder.org/v2", "colab.research.google.com", "launch-buttons", "source-repository-button",
                       "source-issues-button", "source-edit-button"):
            assert marker not in text, f"{page.name}: {marker} (a button that leads nowhere)"


def _pins(requirements):
    return {re.split(r"[=<>!~ ]", r, 1)[0].lower().replace("_", "-"): r.replace(" ", "") for r in requirements}


def test_binder_environment_pins_what_pyproject_pins():
    """environment.yml (conda, and Binder's build of the repository) installs the same pinned packages as `make venv`."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"])
    for extra in ("book", "test", "cluster"):  # what `make venv` installs
        wanted += project["optional-dependencies"][extra]
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert "-e ." in pip, "environment.yml must install fa_lab itself"
    assert _pins(p for p in pip if p != "-e .") == _pins(wanted)


def test_license_and_citation():
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    cff = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert cff["cff-version"].startswith("1.2") and cff["title"] and cff["authors"] and cff["license"] == "MIT"
    paper = cff["references"][0]
    assert paper["title"].lower() == "a general feedback alignment strategy"
    assert "Citing" in (ROOT / "README.md").read_text()


def test_every_notebook_can_set_itself_up_with_the_one_url():
    """Each notebook opens with a set-up cell (hidden in the book) that installs fa_lab when it runs alone (Colab);
    its REPOSITORY is the copy scripts/publish.py writes from _config.yml, so the two agree."""
    import json

    for nb in sorted((ROOT / "book").glob("*.ipynb")):
        cells = json.loads(nb.read_text())["cells"]
        setup = [c for c in cells if "fa-lab-setup" in c.get("metadata", {}).get("tags", [])]
        assert len(setup) == 1 and "remove-cell" in setup[0]["metadata"]["tags"], nb.name
        assert f'REPOSITORY = "{URL}"' in "".join(setup[0]["source"]), f"{nb.name}: run scripts/publish.py"
