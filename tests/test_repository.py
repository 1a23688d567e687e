"""The course's own conventions, checked on every chapter, lab, data set and image."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from labkit.notebooks import has_outputs
from labkit.paths import CONTAINERS_DIR, DATA_DIR, LABS_DIR, REPO_ROOT

HEADER_ROWS = ("Objectives", "Time", "Prerequisites", "Cost on a real account", "Tested on")


def toc_files() -> list[str]:
    toc = yaml.safe_load((REPO_ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries):
        for entry in entries:
            files.append(entry["file"])
            walk(entry.get("sections", []))

    for part in toc["parts"]:
        walk(part["chapters"])
    return files


LAB_NOTEBOOKS = sorted(p for p in LABS_DIR.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
CHAPTERS = sorted((REPO_ROOT / "chapters").rglob("*.md"))
TOPIC_CHAPTERS = [c for c in CHAPTERS if re.match(r"\d\d-", c.name)]


def cells(notebook: Path) -> list[dict]:
    return json.loads(notebook.read_text(encoding="utf-8"))["cells"]


def source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def test_every_toc_entry_exists_and_every_lab_is_in_the_toc():
    listed = set(toc_files())
    for entry in listed:
        assert any((REPO_ROOT / f"{entry}{ext}").exists() for ext in (".md", ".ipynb")), entry
    for notebook in LAB_NOTEBOOKS:
        assert str(notebook.relative_to(REPO_ROOT).with_suffix("")) in listed, notebook
    for chapter in CHAPTERS:
        assert str(chapter.relative_to(REPO_ROOT).with_suffix("")) in listed, chapter


@pytest.mark.parametrize("notebook", LAB_NOTEBOOKS, ids=lambda p: p.stem)
def test_lab_is_stored_without_outputs(notebook):
    assert not has_outputs(notebook), f"run: python -m labkit strip {notebook}"


@pytest.mark.parametrize("notebook", LAB_NOTEBOOKS, ids=lambda p: p.stem)
def test_lab_has_the_header_start_and_cleanup(notebook):
    all_cells = cells(notebook)
    header = source(all_cells[0])
    assert all_cells[0]["cell_type"] == "markdown" and header.startswith("# Lab ")
    for row in HEADER_ROWS:
        assert f"**{row}**" in header, f"{notebook.name}: header lacks {row}"
    code = [source(c) for c in all_cells if c["cell_type"] == "code"]
    assert any(f'start_lab("{notebook.stem}"' in c for c in code), "start_lab(<file name>) missing"
    assert re.search(r"^problems = lab\.cleanup\(\)\s*\nassert not problems, problems\s*$",
                     code[-1], re.M), (
        "the last code cell cleans up and asserts it: problems = lab.cleanup() / "
        "assert not problems, problems")
    assert any(re.search(r"^## Clean up", source(c), re.M) for c in all_cells if c["cell_type"] == "markdown")


class StubLab:
    """Plays ``lab`` for a lab's clean-up cell: ``cleanup()`` reports ``problems``."""

    def __init__(self, problems: list[str]):
        self.problems, self.calls = problems, 0

    def cleanup(self) -> list[str]:
        self.calls += 1
        return self.problems


def cleanup_head(notebook: Path) -> str:
    """The last code cell up to its clean-up assert (what follows needs Docker)."""
    code = [source(c) for c in cells(notebook) if c["cell_type"] == "code"][-1]
    end = code.find("assert not problems, problems")
    assert end >= 0, f"{notebook.name}: the last code cell asserts no clean-up problems"
    return code[: end + len("assert not problems, problems")]


@pytest.mark.parametrize("notebook", LAB_NOTEBOOKS, ids=lambda p: p.stem)
def test_lab_fails_when_its_cleanup_reports_a_problem(notebook):
    """The clean-up assert is checked by running it, not by reading it: with a lab whose
    clean-up reports something left behind the cell must fail, and with none it must pass."""
    head = compile(cleanup_head(notebook), f"{notebook.name}: last cell", "exec")
    left = StubLab(["s3 bucket mlecourse-x still exists"])
    with pytest.raises(AssertionError, match="mlecourse-x"):
        exec(head, {"lab": left})
    clean = StubLab([])
    exec(head, {"lab": clean})
    assert (left.calls, clean.calls) == (1, 1), "the cell calls lab.cleanup() once"


@pytest.mark.parametrize("chapter", TOPIC_CHAPTERS, ids=lambda p: p.stem)
def test_chapter_has_decision_lab_questions_and_aws_links(chapter):
    text = chapter.read_text(encoding="utf-8")
    assert "{doc}`" in text and "labs/" in text, "link the chapter's lab with {doc}"
    assert len(re.findall(r"^:::+\{exercise\}", text, re.M)) >= 5, "at least 5 practice questions"
    assert len(re.findall(r"^:::+\{solution\}", text, re.M)) == len(
        re.findall(r"^:::+\{exercise\}", text, re.M)
    ), "every question has an explained answer"
    titles = re.findall(r"^:::+\{exercise\}(.*)\n(?::\w+:.*\n)*", text, re.M)
    numbered = re.findall(
        r"^:::+\{exercise\} Question (\d+) · Task [1-4]\.[1-3]\n(?::\w+:.*\n)*?:nonumber:",
        text, re.M)
    assert [int(n) for n in numbered] == list(range(1, len(titles) + 1)), (
        "title every question 'Question N · Task D.T', numbered per chapter, with :nonumber:"
    )
    assert re.search(r"^\*Facts checked against AWS documentation on \d{4}-\d{2}-\d{2}\.\*$",
                     text.rstrip().splitlines()[-1]), "end with the facts-checked line"
    assert "docs.aws.amazon.com" in text, "link AWS's documentation"
    assert re.search(r"^## .*(Choos|Decid|When to)", text, re.M), "a section on the decision"


@pytest.mark.parametrize(
    "dataset", sorted(p for p in DATA_DIR.iterdir() if p.is_dir()), ids=lambda p: p.name
)
def test_data_set_has_a_data_card(dataset):
    card = (dataset / "README.md").read_text(encoding="utf-8").lower()
    assert "source" in card and ("licence" in card or "license" in card)


@pytest.mark.parametrize(
    "image", sorted(p for p in CONTAINERS_DIR.iterdir() if p.is_dir()), ids=lambda p: p.name
)
def test_dockerfile_takes_a_base_image(image):
    text = (image / "Dockerfile").read_text()
    assert re.search(r"^ARG BASE_IMAGE=debian:bookworm", text, re.M)
    assert re.search(r"^FROM \$\{?BASE_IMAGE\}?", text, re.M)


@pytest.mark.parametrize("notebook", LAB_NOTEBOOKS, ids=lambda p: p.stem)
def test_lab_code_fits_the_page(notebook):
    """Code lines of at most 88 characters fit the rendered page without scrolling."""
    long = [
        line
        for cell in cells(notebook) if cell["cell_type"] == "code"
        for line in source(cell).splitlines() if len(line) > 88
    ]
    assert long == [], f"{notebook.name}: {len(long)} line(s) over 88 characters: {long[:3]}"


@pytest.mark.parametrize("notebook", LAB_NOTEBOOKS, ids=lambda p: p.stem)
def test_lab_uses_no_private_name_of_the_kit(notebook):
    """The kit's underscore names are its own business; a lab that needs one shows a gap."""
    code = "\n".join(source(c) for c in cells(notebook) if c["cell_type"] == "code")
    private = re.findall(r"from labkit[\w.]* import [^\n]*\b_\w+|labkit(?:\.\w+)*\._\w+", code)
    assert private == [], private
