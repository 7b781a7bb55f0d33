# The worker image. The build context is bin/, which must hold a static
# (CGO_ENABLED=0) build of cmd/podling-worker:
#
#   docker build -f deploy/worker.Dockerfile -t podling/worker:dev bin/
#
# The worker runs containers through the host's Docker engine, so run it with
# the engine's socket mounted, for example:
#
#   docker run -v /var/run/docker.sock:/var/run/docker.sock \
#     -e PODLING_MASTERS=http://master-1:8070 podling/worker:dev
FROM scratch
COPY podling-worker /podling-worker
EXPOSE 8081
ENTRYPOINT ["/podling-worker"]
