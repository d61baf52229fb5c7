"""Builds the vkbnn Python module with the project's CMake build (see pyproject.toml).

Without VKBNN_BUILD_DIR, a build of only the engine, the converter and the module is configured
in build-pip/. With VKBNN_BUILD_DIR=path, the module is built in that existing build tree (e.g.
build/, the release preset's) and copied from there, which reuses what it has built.
"""

import os
import pathlib
import re
import shutil
import subprocess
import sys
import sysconfig

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).resolve().parent


(ROOT / "build-pip").mkdir(exist_ok=True)
VERSION = re.search(r"project\(vkbnn VERSION ([0-9.]+)", (ROOT / "CMakeLists.txt").read_text()).group(1)


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        existing = os.environ.get("VKBNN_BUILD_DIR")
        if existing:
            build_dir = (ROOT / existing).resolve()
        else:
            build_dir = ROOT / "build-pip" / "cmake"
            configure = ["cmake", "-S", str(ROOT), "-B", str(build_dir), "-DCMAKE_BUILD_TYPE=Release",
                         f"-DPython_EXECUTABLE={sys.executable}", "-DVKBNN_BUILD_PYTHON=ON",
                         "-DVKBNN_BUILD_TESTS=OFF", "-DVKBNN_BUILD_BENCHMARKS=OFF", "-DVKBNN_BUILD_STUDIO=OFF"]
            if shutil.which("ninja"):
                configure += ["-G", "Ninja"]
            subprocess.run(configure, check=True)
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 1))
        subprocess.run(["cmake", "--build", str(build_dir), "--target", "vkbnn_python", "--parallel", jobs],
                       check=True)
        built = sorted((build_dir / "python" / "vkbnn").glob("_vkbnn*"))
        if not built:
            raise RuntimeError(f"the CMake build in {build_dir} produced no vkbnn module "
                               "(is pybind11 installed? apt-get install pybind11-dev python3-dev)")
        suffix = sysconfig.get_config_var("EXT_SUFFIX")
        if not built[0].name.endswith(suffix):
            raise RuntimeError(f"{built[0]} was built for another Python than {sys.executable} (*{suffix}); "
                               "configure that build with -DPython_EXECUTABLE=" + sys.executable)
        target = pathlib.Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(built[0], target)


setup(
    name="vkbnn",
    version=VERSION,
    description="GPU inference on Vulkan compute for compressed CNNs (binary, int8, fp32)",
    long_description=(ROOT / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.8",
    install_requires=["numpy"],
    packages=["vkbnn"],
    package_dir={"vkbnn": "python/vkbnn"},
    ext_modules=[Extension("vkbnn._vkbnn", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    # The release preset builds in build/; setuptools' own scratch space stays out of it.
    options={"build": {"build_base": "build-pip"}, "egg_info": {"egg_base": "build-pip"}},
    zip_safe=False,
)
