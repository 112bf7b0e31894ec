# OCOP Bot: one image runs `ocop-bot serve` (set OCOP_* variables; see README).
# Stage 1 builds the wheel (code, catalogs, rules, provinces, migrations are package data);
# stage 2 installs it, so the image runs exactly what a `pip install` of the wheel runs.
#
# Communes are not in the image: import the national list (or a province's CSV) once into the
# database the container uses, e.g.
#   docker run --rm -v ocop-data:/data -v "$PWD/../shared/data:/import:ro" ocop-bot \
#       ocop-bot areas import /import/vn-admin-units-2025.json
# `ocop-bot areas status` says what is loaded; until then serve warns and /healthz lists it.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY storage ./storage
COPY locales ./locales
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    OCOP_HTTP_HOST=0.0.0.0 OCOP_HTTP_PORT=8080 \
    OCOP_DATABASE_URL=sqlite+aiosqlite:////data/ocop.sqlite3 OCOP_BLOB_DIR=/data/blobs
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels \
    && useradd --create-home ocop && mkdir /data && chown ocop /data
USER ocop
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; \
sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz').status == 200 else 1)"
CMD ["ocop-bot", "serve"]
