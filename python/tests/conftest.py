import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "python"))


@pytest.fixture
def write(tmp_path):
    """Writes text to a file in the test's folder; its path."""
    def write(name, text):
        path = tmp_path / name
        path.write_text(text)
        return str(path)
    return write
