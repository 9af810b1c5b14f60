"""Compile the standard-library modules the action imports, for the image: `python compile_stdlib.py OUT`.

python:3.13-slim ships no standard-library bytecode, so without this every run in the image would compile the
about 140 standard-library modules it imports, every time (nothing can cache them: the image sets
PYTHONDONTWRITEBYTECODE). The Dockerfile's build stage runs this with the venv's Python: it imports every module
of the installed package and the libraries it loads lazily (httpx, PyGithub), then writes the bytecode of each
standard-library module now loaded under OUT, mirroring the absolute paths (OUT/usr/local/lib/python3.13/json/
__pycache__/...), so that the final stage copies it onto the same, unchanged base.

The bytecode is hash-based (unchecked): it does not depend on file times surviving `COPY --from` (some builders
round them, which silently invalidates timestamp-based bytecode), and a run neither stats nor reads the sources
to validate it. That is safe here because both stages start from the same base in one build and the image is
never changed afterwards; the container test proves that a run compiles nothing.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import py_compile
import sys
import sysconfig
from pathlib import Path

PACKAGE = "recoup_session_action"
LAZY_LIBRARIES = ("httpx", "github")  # imported inside functions by the product, so imported here by name


def imported_stdlib_sources() -> list[Path]:
    package = importlib.import_module(PACKAGE)
    for module in pkgutil.iter_modules(package.__path__, f"{PACKAGE}."):
        if not module.ispkg and not module.name.endswith(".__main__"):
            importlib.import_module(module.name)
    for library in LAZY_LIBRARIES:
        importlib.import_module(library)
    stdlib = Path(sysconfig.get_path("stdlib"))
    sources = set()
    for loaded in list(sys.modules.values()):
        origin = getattr(getattr(loaded, "__spec__", None), "origin", None)
        if origin and origin.endswith(".py") and Path(origin).is_relative_to(stdlib):
            sources.add(Path(origin))
    return sorted(sources)


def main(out: Path) -> int:
    sources = imported_stdlib_sources()
    for source in sources:
        cache = Path(importlib.util.cache_from_source(str(source)))
        target = out / cache.relative_to(cache.anchor)
        target.parent.mkdir(parents=True, exist_ok=True)
        py_compile.compile(
            str(source),
            cfile=str(target),
            dfile=str(source),
            doraise=True,
            invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
        )
    print(f"compiled {len(sources)} standard-library modules into {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
