# The demo workload image, podling/echo:dev. The build context is bin/, which
# must hold a static (CGO_ENABLED=0) build of cmd/podling-echo:
#
#   docker build -f deploy/echo.Dockerfile -t podling/echo:dev bin/
FROM scratch
COPY podling-echo /podling-echo
EXPOSE 8080
ENTRYPOINT ["/podling-echo"]
