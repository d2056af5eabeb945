# One image for every service; the compose file picks the module to run.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
# The IANA zone files: business time zones and the Duckling date parser read them.
RUN apt-get update && apt-get install -y --no-install-recommends tzdata \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml README.md ./
COPY libs ./libs
COPY services ./services
COPY receptionist ./receptionist
RUN pip install --no-cache-dir .
USER nobody
CMD ["receptionist", "--help"]
