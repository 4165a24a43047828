# One image for every Python service of docker-compose.yml: the Dagster code server, webserver
# and daemon, the MLflow tracking server and the BentoML service.
FROM python:3.11-slim

# curl is used by the compose healthchecks.
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/*

RUN pip install --no-cache-dir "uv==0.13.8"

ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PROJECT_ENVIRONMENT=/opt/dagster/app/.venv \
    PYTHONUNBUFFERED=1

WORKDIR /opt/dagster/app

# Dependencies first (cached layer), then the project itself; with the scale-out extra, since
# the image runs both compose profiles (the workers and DuckLake included).
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --extra scale-out --no-install-project

COPY continual_ml ./continual_ml
COPY bento ./bento
COPY workspace.yaml ./
RUN uv sync --frozen --no-dev --extra scale-out

ENV PATH="/opt/dagster/app/.venv/bin:${PATH}" \
    DAGSTER_HOME=/opt/dagster/home

RUN mkdir -p /opt/dagster/home /data

EXPOSE 3000 3001 4000 5000
