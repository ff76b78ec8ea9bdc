# Sitrep's image: every process (`sitrep worker`, `sitrep api`, `sitrep kafka start` against
# a cluster) from one image, run as an unprivileged user. The world gazetteer's index and the
# map's assets are built in, so a container needs nothing from the network but Kafka.
#   docker build -t sitrep .
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/sitrep/venv
ENV PATH=/opt/sitrep/venv/bin:$PATH
WORKDIR /opt/sitrep/app
# The project's tree as the code expects it (seeds and schemas beside the services).
COPY pyproject.toml README.md ./
COPY services ./services
COPY schemas ./schemas
COPY seeds ./seeds
RUN pip install -e .
ENV SITREP_CACHE_DIR=/opt/sitrep/cache
RUN sitrep gazetteer

FROM python:3.11-slim-bookworm
RUN useradd --system --uid 10001 --user-group --home-dir /var/lib/sitrep sitrep \
    && mkdir -p /var/lib/sitrep && chown sitrep:sitrep /var/lib/sitrep
COPY --from=build /opt/sitrep /opt/sitrep
ENV PATH=/opt/sitrep/venv/bin:$PATH \
    SITREP_CACHE_DIR=/opt/sitrep/cache \
    SITREP_STATE_DIR=/var/lib/sitrep \
    PYTHONUNBUFFERED=1
USER 10001
WORKDIR /var/lib/sitrep
VOLUME /var/lib/sitrep
EXPOSE 8000
ENTRYPOINT ["sitrep"]
CMD ["api", "--host", "0.0.0.0", "--port", "8000"]
