# leadscore's Python images: one build target each, built from this repo with the image's pip extra.
#   docker build --target operator  --build-arg EXTRAS=operator  -t leadscore/operator:dev .
#   docker build --target trainer   --build-arg EXTRAS=trainer   -t leadscore/trainer:dev .
#   docker build --target trainer-ray --build-arg TRAINER_IMAGE=leadscore/trainer:dev -t leadscore/trainer-ray:dev .
#   docker build --target predictor --build-arg EXTRAS=predictor -t leadscore/predictor:dev .
#   docker build --target predictor --build-arg EXTRAS=predictor,gpu -t leadscore/predictor:dev-cuda .
#   docker build --target collector --build-arg EXTRAS=collector -t leadscore/collector:dev .
#   docker build --target console   --build-arg EXTRAS=console   -t leadscore/console:dev .
# Each image's contract (args, env, ports, files, exit codes): <target>/CONTRACT.md. The trainer's
# CUDA variant has its own base: trainer/Dockerfile.cuda.
# BASE_IMAGE: any python:3.11-slim equivalent (hack/images.sh passes its local Debian build).
ARG BASE_IMAGE=python:3.11-slim
# TRAINER_IMAGE: the trainer image built from this same tree (trainer-ray adds Ray on top of it).
ARG TRAINER_IMAGE=leadscore/trainer:dev

FROM ${BASE_IMAGE} AS wheels
ARG EXTRAS
WORKDIR /src
COPY pyproject.toml constraints.txt ./
COPY src ./src
# pyproject's long description (README.md) is not needed in an image, nor a rebuild when it changes.
RUN test -n "${EXTRAS}" || { echo "give --build-arg EXTRAS=<the target's extra>, e.g. EXTRAS=operator" >&2; exit 2; }; \
    touch README.md && pip wheel --no-cache-dir --constraint constraints.txt --wheel-dir /wheels ".[${EXTRAS}]"

FROM ${BASE_IMAGE} AS app
ARG EXTRAS
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 MPLCONFIGDIR=/tmp/matplotlib
# libgomp: XGBoost's and LightGBM's native libraries (trainer, predictor) link against OpenMP.
# The wheels are mounted from the build stage, not copied: no layer keeps them.
RUN --mount=type=bind,from=wheels,source=/wheels,target=/wheels \
    case ",${EXTRAS}," in *,trainer,*|*,ray,*|*,predictor,*) \
      dpkg -s libgomp1 >/dev/null 2>&1 \
      || (apt-get update && apt-get install -y --no-install-recommends libgomp1 && rm -rf /var/lib/apt/lists/*) ;; \
    esac \
    && pip install --no-cache-dir --no-index --find-links /wheels "leadscore[${EXTRAS}]" \
    && useradd --uid 10001 --home-dir /work --create-home --shell /usr/sbin/nologin leadscore
USER 10001:10001
WORKDIR /work

# kopf with the Kubernetes client and leadscore.operator; no ML stack (import-linter keeps it away).
FROM app AS operator
EXPOSE 8080
# kopf's liveness probe; --peering needs the kopf.dev peering CRDs from crds/.
ENTRYPOINT ["leadscore", "operator", "run"]
CMD ["--liveness", "http://0.0.0.0:8080/healthz"]

# One training Job (leadscore train ...), CPU.
FROM app AS trainer
# Idle OpenMP threads wait passively: a Job shares its node's cores with other pods.
ENV OMP_WAIT_POLICY=PASSIVE HOME=/work
ENTRYPOINT ["leadscore"]
CMD ["train", "--help"]

# The trainer plus Ray (the `ray` extra): a KubeRay RayJob's head and workers, and
# `leadscore train|score --engine ray`. Its own image so the default trainer does not carry Ray; built
# on the trainer image of the same tree, so only Ray's packages are added (docs/scale.md).
FROM ${TRAINER_IMAGE} AS trainer-ray
USER 0:0
# The context is bound read-write for pip's in-tree build only (README.md: see the wheels stage);
# pip reinstalls leadscore from it with the ray extra and every pin from constraints.txt.
RUN --mount=type=bind,source=.,target=/src,rw \
    touch /src/README.md && pip install --no-cache-dir --constraint /src/constraints.txt "/src[ray]"
USER 10001:10001
CMD ["score", "--help"]

# KServe's ModelServer with onnxruntime and leadscore.predictor; no training stack.
FROM app AS predictor
EXPOSE 8080 8081
# KServe's storage initializer puts storageUri at /mnt/models; the ClusterServingRuntime
# passes --model_name, --model_dir, --http_port and --grpc_port.
ENTRYPOINT ["python", "-m", "leadscore.predictor"]
CMD ["--model_dir=/mnt/models", "--http_port=8080", "--grpc_port=8081", "--host=0.0.0.0"]

# The HTTP service that stores predictions and outcomes (FastAPI, SQLAlchemy, psycopg).
FROM app AS collector
EXPOSE 8090
ENTRYPOINT ["leadscore", "collector"]
CMD ["--host=0.0.0.0", "--port=8090"]

# The insights console: server-rendered pages, Kubernetes reviews, plotly.js served from the package.
FROM app AS console
EXPOSE 8095
ENTRYPOINT ["leadscore", "console"]
CMD ["--host=0.0.0.0", "--port=8095"]
