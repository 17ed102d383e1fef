# syntax=docker/dockerfile:1.7
# One image for every role; the command picks it: `discord`, `slack`, `web`, `worker --backend …`.
# Its HEALTHCHECK (`imagine health`) is a worker's; compose gives frontends their own.
#   docker build -t imagine-bot .                     # CPU image: frontends and API workers
#   docker build --target gpu -t imagine-bot:gpu .    # CUDA image: diffusers workers
#   docker build --target dashboard -t imagine-bot:dashboard .   # rq-dashboard (compose's ops profile)
# Base images are pinned to patched releases; raise them (and constraints.txt) together.
ARG PYTHON_VERSION=3.12.12
ARG EXTRAS=discord,slack,s3

FROM python:${PYTHON_VERSION}-slim-trixie AS base
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# --- dependencies in their own layer: rebuilt only when pyproject.toml changes ------------------
FROM base AS build
ARG EXTRAS
WORKDIR /src
RUN python -m venv /opt/venv
COPY pyproject.toml README.md constraints.txt ./
# The project itself, with the version bounds of pyproject.toml (no package named on the line).
# hadolint ignore=DL3013
RUN mkdir -p bot workers shared \
    && touch bot/__init__.py workers/__init__.py shared/__init__.py \
    && pip install -c constraints.txt ".[${EXTRAS}]" \
    && pip uninstall -y imagine-bot
COPY bot ./bot
COPY workers ./workers
COPY shared ./shared
RUN pip install --no-deps .

# --- the runtime: no compiler, no sources, no secrets, not root -----------------------------------
FROM base AS runtime
RUN useradd --create-home --uid 10001 imagine && mkdir -p /images && chown imagine /images
COPY --from=build /opt/venv /opt/venv
USER 10001
WORKDIR /home/imagine
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 CMD ["imagine", "health"]
ENTRYPOINT ["imagine"]
CMD ["worker", "--backend", "openai"]

# --- GPU workers: CUDA runtime, CUDA torch and torchvision, the gpu and upscale extras ---------------
FROM nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04 AS gpu
ARG EXTRAS
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    HF_HOME=/models
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/* \
    && python3 -m venv /opt/venv \
    && pip install torch==2.13.0 torchvision==0.28.0 --index-url https://download.pytorch.org/whl/cu126
WORKDIR /src
COPY pyproject.toml README.md constraints.txt ./
# The project itself, with the version bounds of pyproject.toml (no package named on the line).
# hadolint ignore=DL3013
RUN mkdir -p bot workers shared \
    && touch bot/__init__.py workers/__init__.py shared/__init__.py \
    && pip install -c constraints.txt ".[${EXTRAS},gpu,upscale]" \
    && pip uninstall -y imagine-bot
COPY bot ./bot
COPY workers ./workers
COPY shared ./shared
RUN pip install --no-deps . && useradd --create-home --uid 10001 imagine \
    && mkdir -p /models /images && chown imagine /models /images
USER 10001
WORKDIR /home/imagine
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 CMD ["imagine", "health"]
ENTRYPOINT ["imagine"]
CMD ["worker", "--backend", "diffusers"]

# --- rq-dashboard: a pinned release, on the RQ and redis-py our workers run (constraints.txt) ------
FROM base AS dashboard
WORKDIR /dashboard
COPY constraints.txt ./
RUN pip install -c constraints.txt rq-dashboard==0.9.0 \
    && useradd --create-home --uid 10001 dashboard
USER 10001
EXPOSE 9181
# --json: jobs are stored with RQ's JSON serializer (shared/queue.py); basic auth from
# RQ_DASHBOARD_USERNAME / RQ_DASHBOARD_PASSWORD.
CMD ["rq-dashboard", "--bind", "0.0.0.0", "--port", "9181", "--json"]
