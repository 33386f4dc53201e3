# The image docs/deploy/pollster-load-job.yaml runs. From the repository root:
#   docker build -t registry.example.internal/pollster:0.1.0 .
# Stage 1 builds and packages pollster (cpack -G DEB) on Debian 12; stage 2
# installs that .deb on debian:bookworm-slim, apt resolving its Depends.
FROM debian:bookworm AS build
COPY . /src
WORKDIR /src
RUN scripts/setup \
 && cmake -S . -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DPOLLSTER_BUILD_TESTS=OFF -DPOLLSTER_BUILD_BENCH=OFF \
 && cmake --build /build --target pollster \
 && cd /build && cpack -G DEB

FROM debian:bookworm-slim
COPY --from=build /build/pollster_*_amd64.deb /tmp/
RUN apt-get update \
 && apt-get install -y --no-install-recommends /tmp/pollster_*_amd64.deb \
 && rm -rf /var/lib/apt/lists/* /tmp/pollster_*_amd64.deb \
 && pollster --version
ENTRYPOINT ["pollster"]
