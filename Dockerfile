# syntax=docker/dockerfile:1
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
    && /opt/venv/bin/python -m compileall -q /opt/venv/lib \
    && /opt/venv/bin/pip uninstall -y setuptools pip \
    && rm -rf /opt/recoup

ENTRYPOINT ["/opt/venv/bin/recoup-session-action"]
