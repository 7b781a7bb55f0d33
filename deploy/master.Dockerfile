# The master image, podling/master:dev. The build context is bin/, which
# must hold a static (CGO_ENABLED=0) build of cmd/podling-master:
#
#   docker build -f deploy/master.Dockerfile -t podling/master:dev bin/
#
# Give each master its own volume for -data-dir; docker-compose.yml shows
# three masters founding a cluster.
FROM scratch
COPY podling-master /podling-master
EXPOSE 8070 7000
ENTRYPOINT ["/podling-master"]
