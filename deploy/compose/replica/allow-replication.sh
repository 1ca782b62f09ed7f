#!/usr/bin/env bash
# Run once by the postgres image when it creates the database (docker-entrypoint-initdb.d): lets
# the replica of compose.replica.yaml stream the WAL as the suite's database user, with its
# password, from the compose network.
set -euo pipefail
echo "host replication ${POSTGRES_USER} all scram-sha-256" >>"$PGDATA/pg_hba.conf"
