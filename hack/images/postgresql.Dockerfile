# The chart's bundled PostgreSQL where no registry is reachable (the node tests): Debian's
# PostgreSQL 15 on the local base, started by postgresql-entrypoint.sh, which honours the part of
# docker.io/library/postgres's contract the chart uses (POSTGRES_USER, POSTGRES_PASSWORD,
# POSTGRES_DB, PGDATA; the postgres user is uid 999). Built by hack/images.sh from hack/images/.
#   buildah bud -f hack/images/postgresql.Dockerfile --build-arg BASE_IMAGE=... hack/images
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}
# No cluster at install time: the entrypoint initialises PGDATA on the pod's volume.
RUN mkdir -p /etc/postgresql-common \
    && echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.conf \
    && apt-get -o Acquire::Check-Valid-Until=false update \
    && apt-get install -y --no-install-recommends postgresql-15 \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /usr/share/doc/* /usr/share/man/* \
    && usermod --uid 999 postgres && groupmod --gid 999 postgres \
    && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql
COPY postgresql-entrypoint.sh /usr/local/bin/postgresql-entrypoint
ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PGDATA=/var/lib/postgresql/data
USER 999:999
EXPOSE 5432
ENTRYPOINT ["postgresql-entrypoint"]
