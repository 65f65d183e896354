# syntax=docker/dockerfile:1
# The MLflow tracking server: PostgreSQL backend store, artifacts proxied to the S3-compatible store.
# The same MLflow version as vitrina's pyproject.toml, so clients and server agree.

FROM python:3.11-slim-bookworm
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1
RUN pip install mlflow==3.17.2 "psycopg[binary]==3.3.9" boto3==1.44.5 \
    && useradd --system --uid 10002 --create-home mlflow
USER 10002:10002
WORKDIR /home/mlflow
EXPOSE 5000
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:5000/health', timeout=2)"]
ENTRYPOINT ["mlflow", "server"]
