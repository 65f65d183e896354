#!/bin/sh
# First start of the PostgreSQL volume: the databases beside $POSTGRES_DB (the catalog source),
# owned by the same role. MLflow's backend store lives in its own database.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
CREATE DATABASE mlflow OWNER "$POSTGRES_USER";
SQL
