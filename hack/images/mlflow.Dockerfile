# The chart's bundled MLflow tracking server where no registry is reachable (the node tests):
# `mlflow` at the version constraints.txt pins (the trainer's client version), on the local
# base, run as a non-root user. The chart gives the command (`mlflow server ...`).
# Built by hack/images.sh from hack/images/ with constraints.txt staged beside this file.
#   buildah bud -f hack/images/mlflow.Dockerfile --build-arg BASE_IMAGE=... <context>
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 HOME=/tmp
COPY constraints.txt /tmp/constraints.txt
RUN pip install --no-cache-dir --constraint /tmp/constraints.txt mlflow && rm /tmp/constraints.txt
USER 65532:65532
EXPOSE 5000
ENTRYPOINT ["mlflow"]
CMD ["server", "--host=0.0.0.0", "--port=5000"]
