"""Build the optional Cython extension ``workloads._native``; everything else is in pyproject.toml.

The extension must never make the install fail: on an interpreter where Cython or
the C build fails, the reason is written next to the package and the native
workload reports "unavailable: <reason>" instead of silently vanishing.
"""

import os

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

REASON_FILE = os.path.join("workloads", "_native_unavailable.txt")


class OptionalBuildExt(build_ext):
    # setuptools compiles .pyx sources through Cython's build_ext when Cython is
    # importable (it is a build requirement in pyproject.toml).
    def run(self):
        try:
            import Cython  # noqa: F401
        except ImportError as exc:
            self._record(exc)
            return
        try:
            super().run()
        except Exception as exc:  # any failure: record it, install the rest
            self._record(exc)

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:
            self._record(exc)

    def _record(self, exc):
        path = os.path.join(self.build_lib, REASON_FILE)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write("%s: %s\n" % (type(exc).__name__, exc))
        print("warning: workloads._native not built: %s" % exc)


setup(
    ext_modules=[Extension("workloads._native", [os.path.join("workloads", "_native.pyx")])],
    cmdclass={"build_ext": OptionalBuildExt},
)
