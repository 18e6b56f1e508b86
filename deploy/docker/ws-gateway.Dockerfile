# syntax=docker/dockerfile:1
# ws-gateway image: a Debian 12 build stage, then a slim Debian 12 runtime with only the shared
# libraries the binary links, running as an unprivileged user.
# Build from the repository root (the context must be the whole source tree):
#   docker build -f deploy/docker/ws-gateway.Dockerfile -t wsgw/ws-gateway:dev .
# ws-gateway.Dockerfile.dockerignore (BuildKit reads it beside this file) keeps build dirs,
# node_modules and .git out of the context.

FROM debian:12 AS build
# The same Debian packages as deploy/setup-debian.sh, less the test-only tools (GTest stays:
# the top-level CMakeLists.txt requires it at configure time).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config ca-certificates \
      libboost-dev libssl-dev libspdlog-dev libfmt-dev libyaml-cpp-dev \
      libgtest-dev libgmock-dev rapidjson-dev libsimdjson-dev libmsgpack-cxx-dev \
      librdkafka-dev libhiredis-dev libgrpc++-dev libprotobuf-dev \
      protobuf-compiler protobuf-compiler-grpc \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
 && cmake --build /build --target ws-gateway \
 && strip --strip-debug -o /ws-gateway /build/gateway/app/ws-gateway

FROM debian:12-slim AS runtime
# Runtime libraries of ws-gateway (ldd of the binary, mapped to Debian 12 packages).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libssl3 libfmt9 libspdlog1.10 libyaml-cpp0.7 librdkafka1 libhiredis0.14 \
      libsasl2-2 liblz4-1 libzstd1 zlib1g ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 wsgw \
 && useradd --system --uid 10001 --gid wsgw --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin wsgw
COPY --from=build /ws-gateway /usr/local/bin/ws-gateway
# In a container the daemon must listen on every interface (its defaults are loopback).
# The admin endpoints (/metrics /healthz /readyz) get a port of their own, never exposed publicly.
ENV WSGW_LISTEN=0.0.0.0:3000 \
    WSGW_METRICS_LISTEN=0.0.0.0:9100
EXPOSE 3000 3443 9100
# Numeric user, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
# bash's /dev/tcp instead of curl keeps the image small. Kubernetes ignores HEALTHCHECK and
# uses the probes in deploy/k8s, which hit the same endpoints.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9100 && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && head -n1 <&3 | grep -q ' 200 '"]
# SIGTERM starts the drain (/readyz 503, sessions closed with 1001) for --shutdown-grace.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/ws-gateway"]
