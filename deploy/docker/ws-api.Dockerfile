# syntax=docker/dockerfile:1
# ws-api image: a Debian 12 build stage, then a slim Debian 12 runtime with only the shared
# libraries the binary links (gRPC, protobuf, librdkafka, hiredis), as an unprivileged user.
# Build from the repository root:
#   docker build -f deploy/docker/ws-api.Dockerfile -t wsgw/ws-api:dev .

FROM debian:12 AS build
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
 && cmake --build /build --target ws-api \
 && strip --strip-debug -o /ws-api /build/api/app/ws-api

FROM debian:12-slim AS runtime
# Runtime libraries of ws-api (ldd of the binary, mapped to Debian 12 packages).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libgrpc++1.51 libgrpc29 libprotobuf32 libabsl20220623 libc-ares2 libre2-9 \
      libssl3 libfmt9 libspdlog1.10 libyaml-cpp0.7 librdkafka1 libhiredis0.14 \
      libsasl2-2 liblz4-1 libzstd1 zlib1g ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 wsgw \
 && useradd --system --uid 10001 --gid wsgw --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin wsgw
COPY --from=build /ws-api /usr/local/bin/ws-api
# Listen on every interface inside the container (the defaults are loopback).
ENV WSGW_GRPC_LISTEN=0.0.0.0:50051 \
    WSGW_METRICS_LISTEN=0.0.0.0:9100
EXPOSE 50051 9100
USER 10001:10001
# Kubernetes probes gRPC health natively (deploy/k8s); for plain Docker, /healthz on the
# metrics port through bash's /dev/tcp (no curl, no grpc_health_probe in the image).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9100 && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && head -n1 <&3 | grep -q ' 200 '"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/ws-api"]
