"""What the README's install commands give: the extras they name hold what the README says
then works."""
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def extras():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as file:
        return tomllib.load(file)["project"]["optional-dependencies"]


def installed_by(command, optional):
    """The distributions `pip install ".[a,b]"` asks for beyond ideconsole's own."""
    names = re.search(r'pip install "\.\[([\w,]+)\]"', command).group(1).split(",")
    return {re.split(r"[\s;<>=!~\[]", requirement)[0].lower()
            for name in names for requirement in optional[name]}


def test_the_first_readme_command_installs_tqdm_for_ideconsole_tqdm():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as file:
        readme = file.read()
    first = next(line for line in readme.splitlines() if "pip install" in line)
    assert "tqdm" in installed_by(first, extras()), first


def test_the_readme_tqdm_section_says_how_to_get_tqdm_alone():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as file:
        section = file.read().split("\n## tqdm")[1].split("\n## ")[0]
    command = next(line for line in section.splitlines() if 'pip install ".[' in line)
    assert installed_by(command, extras()) == {"tqdm"}, command
