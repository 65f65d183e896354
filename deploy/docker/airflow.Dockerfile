# syntax=docker/dockerfile:1
# Airflow for the vitrina DAGs. Airflow keeps its own venv (docs/adr/0005: its pins conflict with
# vitrina's) and the DAGs call vitrina's CLI from the vitrina image this one starts from.
# Build the vitrina image first, then from the repository root:
#   docker build -f deploy/docker/airflow.Dockerfile --build-arg VITRINA_IMAGE=vitrina -t vitrina-airflow .

ARG VITRINA_IMAGE=vitrina:latest
FROM ${VITRINA_IMAGE}
USER 0
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    AIRFLOW_HOME=/opt/airflow \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/vitrina-dags \
    AIRFLOW__CORE__LOAD_EXAMPLES=False \
    VITRINA_BIN=/opt/vitrina/bin/vitrina
COPY dags/requirements-airflow.txt dags/constraints-airflow.txt /tmp/airflow/
RUN python -m venv /opt/airflow-venv \
    && /opt/airflow-venv/bin/pip install -r /tmp/airflow/requirements-airflow.txt \
       -c /tmp/airflow/constraints-airflow.txt \
    && rm -rf /tmp/airflow \
    && mkdir -p /opt/airflow \
    && chown 10001:10001 /opt/airflow
# The DAGs stay in the image (not in the AIRFLOW_HOME volume), so a new image brings new DAGs.
COPY dags/ /opt/vitrina-dags/
ENV PATH=/opt/airflow-venv/bin:/opt/vitrina/bin:$PATH
WORKDIR /opt/airflow
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/api/v2/monitor/health', timeout=4)"]
ENTRYPOINT ["airflow"]
CMD ["standalone"]
