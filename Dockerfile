# The worklist service and its connectors: one image, the command picks the process.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY worklist worklist
COPY allocator allocator
COPY connectors connectors
COPY dashboards dashboards
# Mount points are created here, owned by the service user, so new named volumes inherit the
# ownership (the process does not run as root and must write its data, state and secrets).
RUN pip install --no-cache-dir . \
    && useradd --system --uid 1000 --home-dir /data worklist \
    && mkdir -p /data /state /secrets \
    && chown worklist:worklist /data /state /secrets
USER worklist
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=5 \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2)"
CMD ["worklist", "serve", "--host", "0.0.0.0", "--port", "8000"]
