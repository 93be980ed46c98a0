# syntax=docker/dockerfile:1
# SafeBeat production image: one image for the Dagster code server, webserver, daemon and the
# one-shot `dagster instance migrate` job; docker-compose.yml chooses the command per service.
# Dependencies come from uv.lock exactly (`uv sync --frozen`), without the dev group.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# The same uv as the Makefile (UV_VERSION).
RUN pip install uv==0.13.9

ENV UV_PROJECT_ENVIRONMENT=/opt/safebeat/.venv \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1

WORKDIR /opt/safebeat

# 1) Third-party dependencies only: this layer is rebuilt only when the lock changes.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project

# 2) The SafeBeat package itself, installed (not editable) into the same virtualenv.
COPY safebeat_assets ./safebeat_assets
RUN uv sync --frozen --no-dev --no-editable

ENV VIRTUAL_ENV=/opt/safebeat/.venv \
    PATH=/opt/safebeat/.venv/bin:$PATH \
    DAGSTER_HOME=/opt/dagster/dagster_home \
    SAFEBEAT_DATA_DIR=/opt/safebeat/data

# Non-root runtime user. It owns DAGSTER_HOME (the instance writes under $DAGSTER_HOME/storage,
# a volume shared by the Dagster services in compose) and the scratch data dir; the instance and
# workspace files stay read-only.
RUN groupadd --system --gid 10001 safebeat \
    && useradd --system --uid 10001 --gid safebeat --create-home --home-dir /home/safebeat \
        --shell /usr/sbin/nologin safebeat \
    && mkdir -p "$DAGSTER_HOME/storage" "$SAFEBEAT_DATA_DIR" \
    && chown safebeat:safebeat "$DAGSTER_HOME" "$DAGSTER_HOME/storage" "$SAFEBEAT_DATA_DIR"

COPY dagster.yaml workspace.yaml /opt/dagster/dagster_home/

USER safebeat
WORKDIR /opt/dagster/dagster_home

# 3000 Dagster UI (webserver), 4000 gRPC code server.
EXPOSE 3000 4000

CMD ["dagster", "code-server", "start", "-h", "0.0.0.0", "-p", "4000", "-m", "safebeat_assets.definitions", "-a", "defs"]
