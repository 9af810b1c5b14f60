# syntax=docker/dockerfile:1
# Stage 0 builds the venv: dependencies from the hash-locked file, the package, bytecode; then pip and setuptools go.
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

COPY requirements.lock /opt/recoup/requirements.lock
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --require-hashes --only-binary=:all: -r /opt/recoup/requirements.lock

COPY pyproject.toml README.md LICENSE /opt/recoup/
COPY src /opt/recoup/src
RUN /opt/venv/bin/pip install --no-deps --no-build-isolation /opt/recoup \
    && /opt/venv/bin/pip uninstall -y setuptools pip \
    && /opt/venv/bin/python -m compileall -q /opt/venv/lib \
    && rm -rf /opt/recoup

# The runtime image: the base plus one layer holding only the venv (no pip, no build inputs, no compilers).
FROM python:3.13-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

COPY --from=0 /opt/venv /opt/venv

ENTRYPOINT ["/opt/venv/bin/recoup-session-action"]
