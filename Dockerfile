# syntax=docker/dockerfile:1
# Stage 0 builds the venv (dependencies from the hash-locked file, the package, bytecode; then pip and setuptools
# go) and the bytecode of the standard-library modules the action imports, which python:3.13-slim does not ship.
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

COPY requirements.lock /opt/recoup/requirements.lock
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-compile --require-hashes --only-binary=:all: -r /opt/recoup/requirements.lock

COPY pyproject.toml README.md LICENSE /opt/recoup/
COPY src /opt/recoup/src
COPY scripts/compile_stdlib.py /opt/recoup/
# Hash-based bytecode (unchecked; see compile_stdlib.py for why) stays valid whatever `COPY --from` does to file times.
# actions-toolkit's wheel installs its own test files as a top-level `tests` package: not part of the product.
# pydantic.v1 (pydantic's copy of its 1.x API) is never imported here: its 0.6 MB of bytecode would be dead weight.
RUN /opt/venv/bin/pip install --no-compile --no-deps --no-build-isolation /opt/recoup \
    && /opt/venv/bin/pip uninstall -y setuptools pip \
    && rm -rf /opt/venv/lib/python3*/site-packages/tests \
    && /opt/venv/bin/python -m compileall -q --invalidation-mode unchecked-hash -x '/pydantic/v1/' /opt/venv/lib \
    && /opt/venv/bin/python /opt/recoup/compile_stdlib.py /opt/stdlib-bytecode \
    && rm -rf /opt/recoup

# The runtime image: the base plus the venv and the standard-library bytecode (no pip, no build inputs, no compilers).
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

COPY --from=0 /opt/venv /opt/venv
COPY --from=0 /opt/stdlib-bytecode/ /

ENTRYPOINT ["/opt/venv/bin/recoup-session-action"]
