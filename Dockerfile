# One image for web, worker and beat. GOV.UK Frontend comes from npm at build time; nothing built is committed.
FROM node:22-bookworm-slim AS assets
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DEBUG=0
WORKDIR /app
COPY pyproject.toml README.md ./
RUN pip install --no-cache-dir -e .
COPY . .
COPY --from=assets /app/node_modules ./node_modules
# collectstatic reads the settings, which refuse to load without their secrets: throwaway ones, for this step only.
RUN SECRET_KEY=build-only AUDIT_SIGNING_KEY=build-only AUDIT_WITNESS_DIR=/tmp/build-only \
    python manage.py collectstatic --noinput
RUN mkdir -p var/exports var/audit-witness && useradd --system --home /app registry && chown -R registry /app
USER registry
EXPOSE 8000
CMD ["gunicorn", "sharing_registry.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
