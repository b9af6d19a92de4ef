# The worklist service and its connectors: one image, the command picks the process.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY worklist worklist
COPY allocator allocator
COPY connectors connectors
COPY dashboards dashboards
RUN pip install --no-cache-dir . && useradd --system --uid 1000 worklist
USER worklist
EXPOSE 8000
CMD ["worklist", "serve", "--host", "0.0.0.0", "--port", "8000"]
