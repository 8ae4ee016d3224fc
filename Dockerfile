# One image for the web app and the Celery worker (docker-compose.yml picks the command).

# Front-end libraries, pinned in package-lock.json.
FROM node:20-slim AS assets
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

RUN useradd --create-home --uid 1000 netpol

# Dependencies first, so that a code change does not reinstall them.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt

COPY --from=assets /app/node_modules ./node_modules
COPY . .
RUN pip install --no-deps -e . \
    && SECRET_KEY=build-time-only-collectstatic python manage.py collectstatic --noinput \
    && chown -R netpol:netpol /app

USER netpol
EXPOSE 8000
CMD ["gunicorn", "netpol_site.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "120", "--access-logfile", "-"]
