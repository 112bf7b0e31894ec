# OCOP Bot: one image runs `ocop-bot serve` (set OCOP_* variables; see README).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    OCOP_HTTP_HOST=0.0.0.0 OCOP_HTTP_PORT=8080 \
    OCOP_DATABASE_URL=sqlite+aiosqlite:////data/ocop.sqlite3 OCOP_BLOB_DIR=/data/blobs
WORKDIR /app
COPY pyproject.toml README.md alembic.ini babel.cfg ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
COPY locales ./locales
RUN pip install --no-cache-dir -e . && useradd --create-home ocop && mkdir /data \
    && chown ocop /data
USER ocop
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; \
sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz').status == 200 else 1)"
CMD ["ocop-bot", "serve"]
