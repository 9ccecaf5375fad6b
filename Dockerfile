# imagebot in a container: a cron job, a CI step, or the GitHub Action (action.yml).
#
#   docker build -t imagebot .
#   docker run --rm -v "$PWD/policies:/cfg:ro" imagebot scan --config /cfg
#
# Two stages on the same base (Python lives at different paths in different bases, so the
# virtualenv is made and used with one): the first installs wheels only (no compiler anywhere),
# the second copies the virtualenv and runs as an unprivileged user. State and clones go to the
# volume /var/lib/imagebot (IMAGEBOT_HOME), so a read-only root file system works. The test suite
# builds this file on a Debian base made locally (scripts/container-base): --build-arg BASE=...
ARG BASE=python:3.12-slim

FROM ${BASE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# dependencies first, in a layer of their own: a change to imagebot's code rebuilds only the last two
COPY pyproject.toml ./
RUN python3 -m venv /opt/build \
 && /opt/build/bin/pip install --no-cache-dir hatchling==1.33.0 \
 && /opt/build/bin/python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
 && python3 -m venv /opt/imagebot \
 && /opt/imagebot/bin/pip install --no-cache-dir --only-binary=:all: --requirement requirements.txt
COPY README.md ./
COPY imagebot ./imagebot
RUN /opt/build/bin/pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /tmp/dist . \
 && /opt/imagebot/bin/pip install --no-cache-dir --no-deps /tmp/dist/*.whl

FROM ${BASE}
ARG VERSION=dev
LABEL org.opencontainers.image.title="imagebot" \
      org.opencontainers.image.description="Image-update automation for GitOps repositories: scan registries, choose tags like Flux, rewrite marked YAML, commit or open a pull request" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/imagebot/imagebot"
# uid 1001 is the runner user of GitHub-hosted runners, so the Action can write the checkout it
# is given; anywhere else it is just an unprivileged user
RUN groupadd --gid 1001 imagebot \
 && useradd --uid 1001 --gid 1001 --home-dir /var/lib/imagebot --no-create-home \
      --shell /usr/sbin/nologin imagebot \
 && mkdir -p /var/lib/imagebot \
 && chown imagebot:imagebot /var/lib/imagebot
COPY --from=build /opt/imagebot /opt/imagebot
ENV PATH=/opt/imagebot/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    IMAGEBOT_HOME=/var/lib/imagebot \
    HOME=/var/lib/imagebot
VOLUME ["/var/lib/imagebot"]
USER 1001:1001
ENTRYPOINT ["imagebot"]
CMD ["--help"]
