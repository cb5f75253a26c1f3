# q2c: one image for the worker, the ingress, the codec server and the simulators (`q2c <command>`).
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY models models
COPY ports ports
COPY connectors connectors
COPY simulators simulators
COPY activities activities
COPY workflows workflows
COPY client client
COPY infra infra
COPY cli cli
COPY devstack devstack
COPY workers workers
RUN pip install . && useradd --system --uid 10001 q2c
USER q2c
# JSON logs and OTLP traces are the defaults a container wants; compose sets the endpoints.
ENV Q2C_LOG_FORMAT=json
ENTRYPOINT ["q2c"]
CMD ["worker"]
