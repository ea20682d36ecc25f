# The operator image: `docker build -t journeys-operator:0.1.0 .` (docs/install.md).
# Stage 1 builds the project's wheel and every dependency's wheel; stage 2 installs them into a
# virtual environment on a slim base and runs as an unprivileged user. The entry command is
# `journeys-operator`, the console script the integration tests run.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY operator ./operator
RUN python -m pip wheel --wheel-dir /wheels .

FROM ${PYTHON_IMAGE}
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PATH=/opt/journeys/bin:$PATH
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python -m venv /opt/journeys \
    && /opt/journeys/bin/pip install --no-index --find-links=/wheels journeys \
    && groupadd --gid 65532 journeys \
    && useradd --uid 65532 --gid 65532 --no-create-home --shell /usr/sbin/nologin journeys
# Numeric, so that Kubernetes can verify runAsNonRoot without resolving the name.
USER 65532:65532
# Health (Kopf), metrics, admission webhooks.
EXPOSE 8080 8081 9443
ENTRYPOINT ["journeys-operator"]
CMD ["--peering=journeys-operator", "--admission=cluster"]
