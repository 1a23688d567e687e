"""Lab 06 shows the R container's contract as code blocks: they must be the files' own lines.

Each fenced ```r or ```sh block in a Markdown cell of the lab must appear verbatim in one
file of containers/r-model/, so what a learner reads cannot drift from what the image runs.
No Docker needed.
"""

from __future__ import annotations

import json
import re

from labkit.paths import CONTAINERS_DIR, LABS_DIR

LAB = LABS_DIR / "02-sagemaker" / "06-bring-your-own-container-r.ipynb"
FENCE = re.compile(r"^```(r|sh)\n(.*?)^```$", re.M | re.S)


def shown_blocks() -> list[tuple[str, str]]:
    cells = json.loads(LAB.read_text(encoding="utf-8"))["cells"]
    blocks = []
    for cell in cells:
        if cell["cell_type"] == "markdown":
            text = "".join(cell["source"])
            blocks += [(m.group(1), m.group(2)) for m in FENCE.finditer(text)]
    return blocks


def files() -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8")
            for p in (CONTAINERS_DIR / "r-model").iterdir() if p.is_file()}


def where(block: str) -> list[str]:
    return [name for name, text in files().items() if block in text]


def test_every_shown_block_is_in_a_container_file() -> None:
    blocks = shown_blocks()
    assert len(blocks) >= 12
    missing = [block for _, block in blocks if not where(block)]
    assert missing == [], f"shown in lab 06 but not in containers/r-model: {missing}"


def test_the_contract_is_shown_from_both_scripts() -> None:
    found = {name for _, block in shown_blocks() for name in where(block)}
    assert {"train.R", "serve.R", "common.R", "entrypoint.sh"} <= found
    shown = "\n".join(block for _, block in shown_blocks())
    for part in ('"failure"', "quit(save = \"no\", status = 1)", 'pr_get("/ping"',
                 'pr_post("/invocations"', "hyperparameters.json", "SAGEMAKER_BIND_TO_PORT",
                 "saveRDS(bundle, MODEL_FILE)", "exit 2", '"/opt/ml"'):
        assert part in shown, part


def test_a_changed_line_would_be_noticed() -> None:
    lang, block = shown_blocks()[0]
    assert where(block)
    assert not where(block.replace("exec", "exec  ", 1) + "x")
