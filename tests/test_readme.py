"""The README's code runs as written."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_readme_python_blocks_run():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks
    for block in blocks:
        exec(compile(block, str(README), "exec"), {})


def test_readme_images_are_in_the_repository():
    images = re.findall(r"!\[[^]]+\]\(([^)]+)\)", README.read_text())
    assert images
    for image in images:
        assert (README.parent / image).is_file(), image
