# The one image behind every service of docker-compose.yml: web, workers, beat, Flower.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    PATH=/opt/venv/bin:$PATH

RUN pip install --no-cache-dir "uv==0.13.8"

WORKDIR /app
# Dependencies first, in their own layer: a code change does not reinstall them.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project --no-cache

COPY . .
# Static files are part of the image (whitenoise serves them). The values below exist only
# for this build step, which opens no database; the running containers get theirs from
# .env.production.
RUN DJANGO_SETTINGS_MODULE=config.settings.production \
    SECRET_KEY=collectstatic-at-build-time-only-0123456789-abcdefghijklmnopqrstuvwxyz \
    ALLOWED_HOSTS=localhost \
    DATABASE_URL=postgres://build@localhost/unused \
    WAITLIST_PUBLIC_BASE_URL=https://build.invalid \
    python manage.py collectstatic --noinput -v0

# A non-root user owns only what the processes write: media files and Flower's state.
RUN groupadd --system app \
    && useradd --system --gid app --home-dir /app --no-create-home --shell /usr/sbin/nologin app \
    && mkdir -p /app/var/media /data \
    && chown -R app:app /app/var/media /data
USER app

EXPOSE 8000 5555
# uvicorn takes the client's address (and scheme) from X-Forwarded-* headers only when the
# connection comes from one of FORWARDED_ALLOW_IPS (addresses or networks; uvicorn reads the
# variable itself): set it to the reverse proxy's address. Never "*": any client could then
# claim any address, and the throttles, the login lockout and /metrics' allow-list would
# believe it. The default trusts nothing but the container itself.
ENV FORWARDED_ALLOW_IPS=127.0.0.1
CMD ["uvicorn", "config.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers"]
