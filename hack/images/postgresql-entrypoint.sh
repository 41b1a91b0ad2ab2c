#!/bin/sh
# Starts PostgreSQL in the foreground, initialising PGDATA on first start only (a restarted pod
# keeps its data): the superuser POSTGRES_USER (default postgres) with POSTGRES_PASSWORD, the
# database POSTGRES_DB (default: the user's name), password (scram-sha-256) logins over TCP from
# anywhere, trust only on the pod's own Unix socket. The subset of docker.io/library/postgres's
# entrypoint the chart relies on. Arguments go to postgres (e.g. -c name=value).
set -eu
: "${PGDATA:?set PGDATA}"
user="${POSTGRES_USER:-postgres}"
database="${POSTGRES_DB:-$user}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  : "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD (the superuser password)}"
  echo "postgresql-entrypoint: initialising $PGDATA (superuser $user, database $database)" >&2
  mkdir -p "$PGDATA"
  chmod 700 "$PGDATA"
  password_file="$(mktemp)"
  printf '%s' "$POSTGRES_PASSWORD" > "$password_file"
  initdb --username="$user" --pwfile="$password_file" --auth-local=trust --auth-host=scram-sha-256 \
    --encoding=UTF8 --locale=C.UTF-8 -D "$PGDATA" >&2
  rm -f "$password_file"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  if [ "$database" != postgres ]; then
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >&2
    createdb --username="$user" "$database"
    pg_ctl -D "$PGDATA" -m fast -w stop >&2
  fi
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' "$@"
