#!/bin/sh
# Runs once, when the database volume is first created (the postgres image's /docker-entrypoint-initdb.d).
# POSTGRES_USER owns the database and runs migrations; the application connects as APP_DB_USER, which `migrate`
# then grants INSERT and SELECT only on the audit tables (audit/roles.py).
set -eu
: "${APP_DB_PASSWORD:?set APP_DB_PASSWORD}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
     -v app_user="${APP_DB_USER:-registry_app}" -v app_password="$APP_DB_PASSWORD" <<'SQL'
CREATE ROLE :"app_user" LOGIN PASSWORD :'app_password' NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
GRANT CONNECT ON DATABASE :"DBNAME" TO :"app_user";
SQL
