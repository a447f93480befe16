"""Builds libSwiftCaffeC with `swift build` in the SwiftCaffe checkout this
folder is part of, and ships it inside the package (a platform wheel)."""
import os
import shutil
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

CHECKOUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIBRARY = "libSwiftCaffeC.so"


class BuildWithSwift(build_py):
    def run(self):
        super().run()
        if not os.path.exists(os.path.join(CHECKOUT, "Package.swift")):
            raise SystemExit("swiftcaffe: build from a SwiftCaffe checkout (pip install ./python); "
                             "%s has no Package.swift" % CHECKOUT)
        subprocess.check_call(["swift", "build", "-c", "release", "--product", "SwiftCaffeC"], cwd=CHECKOUT)
        target = os.path.join(self.build_lib, "swiftcaffe", LIBRARY)
        shutil.copyfile(os.path.join(CHECKOUT, ".build", "release", LIBRARY), target)
        os.chmod(target, 0o755)


class BinaryDistribution(Distribution):
    """The wheel holds a native library: tag it for this platform."""

    def has_ext_modules(self):
        return True


setup(cmdclass={"build_py": BuildWithSwift}, distclass=BinaryDistribution)
