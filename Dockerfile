# nianbao API / scheduler image. Built by docker-compose.yml; runs `nianbao serve` by default.
FROM python:3.11-slim

# OCR of scanned reports (Tesseract + Simplified Chinese, poppler for PDF pages) and legacy .doc files.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-chi-sim poppler-utils catdoc \
    && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    NIANBAO_DATA_DIR=/data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY nianbao ./nianbao
COPY crawler ./crawler
COPY indexer ./indexer
COPY store ./store
COPY service ./service
COPY demo ./demo
COPY mappings ./mappings
COPY sources.example.toml ./
RUN pip install . \
    && useradd --system --uid 10001 --home-dir /data nianbao \
    && mkdir -p /data && chown nianbao /data

USER nianbao
VOLUME ["/data"]
EXPOSE 8000
CMD ["nianbao", "serve", "--host", "0.0.0.0"]
