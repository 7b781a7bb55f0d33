# The pod sandbox image, podling/pause:dev. It runs as the first container of
# every pod and keeps the pod's network namespace. The build context is bin/, which
# must hold a static (CGO_ENABLED=0) build of cmd/podling-pause:
#
#   docker build -f deploy/pause.Dockerfile -t podling/pause:dev bin/
FROM scratch
COPY podling-pause /podling-pause
ENTRYPOINT ["/podling-pause"]
