"""The README's Python example runs as printed."""
import os
import re

from conftest import ROOT


def test_readme_python_example_runs(tmp_path, monkeypatch):
    readme = open(os.path.join(ROOT, "README.md")).read()
    section = readme[readme.index("## Python: pycaffe's API"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    os.symlink(os.path.join(ROOT, "Models"), str(tmp_path / "Models"))
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert namespace["out"]["prob"].shape == (64, 10)
    assert (tmp_path / "surgery.caffemodel").stat().st_size > 1000
