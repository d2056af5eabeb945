# One image for every service; the command picks what runs (deploy/docker-compose.yml):
#   python -m services.<name>                       a service
#   receptionist migrate && receptionist bus declare    the one-shot deployment step
# Configuration comes from the environment only (see .env.example).

# -- build: a virtualenv with the dependencies, then the package ------------------------------
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# The dependencies first, from pyproject.toml alone: this layer is rebuilt only when they change.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt
COPY libs ./libs
COPY services ./services
COPY receptionist ./receptionist
COPY examples ./examples
RUN pip install --no-deps . && receptionist --help > /dev/null

# -- runtime: the virtualenv, the example businesses, a user without privileges ----------------
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/venv/bin:$PATH
# The IANA zone files: business time zones and the Duckling date parser read them.
RUN apt-get update && apt-get install -y --no-install-recommends tzdata \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 receptionist \
    && useradd --system --uid 10001 --gid receptionist --no-create-home \
        --home-dir /nonexistent --shell /usr/sbin/nologin receptionist
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
# `receptionist business import examples/businesses/salon.yaml` works from the working directory.
COPY --from=build /src/examples ./examples
USER 10001:10001
# 8000: HTTP (ingress webhooks, the notifier's reply stream); 9100: /healthz, /readyz, /metrics
EXPOSE 8000 9100
CMD ["receptionist", "--help"]
