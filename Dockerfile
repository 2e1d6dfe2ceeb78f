# The SalesPulse application image: CLI, stream workers and HTTP API.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY salespulse ./salespulse
COPY schemas ./schemas
COPY producers ./producers
COPY projections ./projections
COPY streams ./streams
COPY stack ./stack
RUN pip install .

RUN useradd --create-home --uid 10001 salespulse
USER salespulse

ENTRYPOINT ["salespulse"]
CMD ["--help"]
