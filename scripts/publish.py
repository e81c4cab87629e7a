"""Publish the book: ``python scripts/publish.py https://github.com/<org>/fa_lab``.

The repository URL's home is ``repository.url`` in ``_config.yml``. This script sets it there, turns on the
launch (Binder, Colab) and repository buttons, and writes the same URL into the set-up cell that opens every
notebook (a notebook opened alone, e.g. in Colab, cannot read _config.yml; tests/test_publish.py checks that
the copies agree). Then ``make book`` and serve ``_build/html``.
"""

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SETUP_TAG = "fa-lab-setup"


def set_config(url):
    path = ROOT / "_config.yml"
    text = path.read_text()
    text = re.sub(r'(repository:\n  url: )"[^"]*"', rf'\g<1>"{url}"', text)
    text = re.sub(r"(?m)^# (launch_buttons:|  notebook_interface:|  binderhub_url:|  colab_url:)", r"\1", text)
    text = text.replace("use_repository_button: false", "use_repository_button: true")
    path.write_text(text)


def set_notebooks(url):
    for nb in sorted((ROOT / "book").glob("*.ipynb")):
        d = json.loads(nb.read_text())
        for c in d["cells"]:
            if SETUP_TAG in c.get("metadata", {}).get("tags", []):
                src = re.sub(r'REPOSITORY = "[^"]*"', f'REPOSITORY = "{url}"', "".join(c["source"]))
                c["source"] = src.splitlines(keepends=True)
        nb.write_text(json.dumps(d, indent=1, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    if len(sys.argv) != 2 or not re.match(r"https://[^/]+/[^/]+/[^/]+/?$", sys.argv[1]):
        sys.exit("usage: python scripts/publish.py https://github.com/<org>/<repo>")
    set_config(sys.argv[1])
    set_notebooks(sys.argv[1])
    print(f"published settings for {sys.argv[1]}: _config.yml and the notebooks' set-up cells; now `make book`")
