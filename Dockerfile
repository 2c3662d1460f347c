# One image for every action of this repository (root action.yml, create-incident/,
# trigger-incident/, escalate/, sync/): each action.yml points here with `image: Dockerfile`
# or `image: ../Dockerfile` and picks its operation with a fixed `runs.env`
# PAGERDUTY_PORT_OPERATION value.
#
# BASE_IMAGE: any Debian-based image whose `python3` is 3.11 or newer. GitHub builds with
# the default; the container tests pass a Debian stand-in built without a registry.
ARG BASE_IMAGE=python:3.13-slim-bookworm
FROM ${BASE_IMAGE}

# PIP_CERT: a CA bundle for pip, only where PyPI is reached through an intercepting proxy
# (the container tests mount the host's bundle and pass its path). Empty means pip's own.
ARG PIP_CERT=""

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    VIRTUAL_ENV=/opt/pagerduty-port \
    PATH=/opt/pagerduty-port/bin:$PATH

# A virtual environment keeps the install independent of the base image's own Python
# packages (Debian's python3 refuses system-wide pip installs); it comes first on PATH,
# so `python3` here and in ENTRYPOINT is the environment's interpreter.
# --no-deps + pip check: requirements.txt must pin the whole dependency tree, and the pins
# must satisfy pyproject.toml's dependencies; either mistake fails the build.
COPY requirements.txt /opt/pagerduty-port-src/requirements.txt
RUN python3 -m venv "$VIRTUAL_ENV" \
    && pip install --no-cache-dir --require-virtualenv --no-deps \
        --requirement /opt/pagerduty-port-src/requirements.txt \
    && pip check

# The product only: the root pyproject.toml is the runtime distribution (no console scripts);
# the simulators and the demo are the sandbox/ distribution, which is not even in the context.
COPY pyproject.toml README.md /opt/pagerduty-port-src/
COPY src/ /opt/pagerduty-port-src/src/
RUN pip install --no-cache-dir --require-virtualenv --no-deps --no-build-isolation \
        /opt/pagerduty-port-src \
    && pip check \
    && rm -rf /opt/pagerduty-port-src \
    && python3 -c "import github_action_utils, jq, pagerduty_port, requests, yaml"

ENTRYPOINT ["python3", "-m", "pagerduty_port"]
