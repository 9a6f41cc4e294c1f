# The hub's image: exactly the dependencies uv.lock pins (no dev tools), then our three packages.
FROM python:3.11-slim

RUN pip install --no-cache-dir uv

WORKDIR /app
# Compile bytecode once at build time; copy rather than hard-link out of uv's cache (it is not
# kept in the image); use the image's Python, never a downloaded one.
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    PYTHONUNBUFFERED=1

# Dependencies first, in their own layer, so that a code change does not reinstall them.
# README.md is needed because pyproject.toml names it as the package's readme.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project

COPY contracts/ contracts/
COPY hub/ hub/
COPY adapters/ adapters/
RUN uv sync --frozen --no-dev

# The venv's `hub` console script, without `uv run` re-checking the environment at start.
ENV PATH="/app/.venv/bin:$PATH"

# Nothing in the hub needs root.
RUN useradd --system --no-create-home --uid 10001 lrs \
    && mkdir -p /var/lib/lrs && chown lrs /var/lib/lrs  # where the audit chain's heads are published
USER lrs

# `hub serve` needs LRS_LOG_HASH_KEY, a secret: give it when the container runs (see
# docker-compose.yml), never in the image, where anyone who pulls it could read it.
CMD ["hub", "serve"]
