# The SalesPulse application image: CLI, stream workers and HTTP API.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml setup.py README.md ./
COPY salespulse ./salespulse
COPY schemas ./schemas
COPY infra ./infra
COPY producers ./producers
COPY projections ./projections
COPY streams ./streams
COPY stack ./stack
# gcc only to compile the optional C reader of the replay (schemas/native), then removed
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
 && pip install . \
 && apt-get purge -y gcc libc6-dev && apt-get autoremove -y && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 salespulse
USER salespulse

ENTRYPOINT ["salespulse"]
CMD ["--help"]
