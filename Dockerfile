# The `ipam` binary in a small Debian image. One image serves every role:
#   docker run … ipam serve [--no-workers]   # HTTP API on :8000 (/health, /metrics)
#   docker run … ipam worker                  # jobs + cron, /health and /metrics on :9091
#   docker run … ipam migrate                 # idempotent schema/index creation
# See docker-compose.yml for the production stack (MongoDB, Redis, Prometheus, Grafana).

ARG RUST_VERSION=1.95

# ---------------------------------------------------------------------------------------------
# Builder
# ---------------------------------------------------------------------------------------------
FROM rust:${RUST_VERSION}-bookworm AS builder

WORKDIR /src

# apalis-sqlite's compile-time-checked queries use the offline data they ship: SQLX_OFFLINE must
# be on and DATABASE_URL must NOT be set during the build (the base image does not set it).
# gcc (in the base image) compiles libsqlite3-sys' bundled SQLite.
ENV SQLX_OFFLINE=true \
    CARGO_TERM_COLOR=never \
    CARGO_INCREMENTAL=0

# 1. Dependencies only. Every workspace member's manifest is needed for `-p ipam` to resolve
#    (tests/ is a member too, with a build script). Each target a manifest names (libs, bins,
#    [[test]]s, the jobs bench) gets an empty stub — add one here when a manifest gains a target.
#    So this layer — all third-party crates compiled — is rebuilt only when a manifest or
#    Cargo.lock changes, not on every source edit.
COPY Cargo.toml Cargo.lock ./
COPY migrations/Cargo.toml migrations/
COPY api/Cargo.toml api/
COPY jobs/Cargo.toml jobs/
COPY cli/Cargo.toml cli/
COPY tests/Cargo.toml tests/build.rs tests/
RUN set -eux; \
    mkdir -p src migrations/src api/src jobs/src jobs/benches cli/src \
             tests/harness tests/api tests/storage tests/concurrency; \
    for f in src/lib.rs migrations/src/lib.rs api/src/lib.rs jobs/src/lib.rs tests/harness/lib.rs; do \
        echo '//! dependency-caching stub' > "$f"; \
    done; \
    for f in cli/src/main.rs jobs/benches/jobs.rs \
             tests/api/main.rs tests/storage/main.rs tests/concurrency/main.rs; do \
        echo 'fn main() {}' > "$f"; \
    done; \
    cargo build --release -p ipam --locked; \
    rm -rf src migrations/src api/src jobs/src jobs/benches cli/src \
           tests/harness tests/api tests/storage tests/concurrency

# 2. The real sources. COPY keeps the files' original modification times, which can be older
#    than the stubs' build: touch them so cargo rebuilds the workspace crates for certain.
COPY . .
RUN set -eux; \
    find src migrations api jobs cli tests -type f -exec touch {} +; \
    cargo build --release -p ipam --locked; \
    install -D -m 0755 target/release/ipam /out/ipam; \
    /out/ipam --version

# ---------------------------------------------------------------------------------------------
# Runtime
# ---------------------------------------------------------------------------------------------
FROM debian:bookworm-slim AS runtime

# ca-certificates: TLS to MongoDB/Redis/webhook receivers; curl: container health checks.
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends ca-certificates curl; \
    rm -rf /var/lib/apt/lists/*; \
    groupadd --system --gid 10001 ipam; \
    useradd --system --uid 10001 --gid ipam --home-dir /data --no-create-home \
            --shell /usr/sbin/nologin ipam; \
    mkdir -p /data; \
    chown ipam:ipam /data; \
    chmod 0750 /data

COPY --from=builder /out/ipam /usr/local/bin/ipam

# Production defaults; everything else comes from the environment (see README "Configuration").
# /data holds the embedded SQLite database / job queue and the generated JWT secret when no
# MongoDB / Redis / IPAM_JWT_SECRET is configured.
ENV IPAM_DATA_DIR=/data \
    IPAM_BIND_ADDR=0.0.0.0:8000 \
    IPAM_WORKER_ADDR=0.0.0.0:9091 \
    IPAM_LOG_FORMAT=json

WORKDIR /data
VOLUME ["/data"]
USER ipam:ipam

# 8000: API (`serve`); 9091: worker /health and /metrics (`worker`).
EXPOSE 8000 9091

# Works for both long-running roles: `serve` answers on 8000, `worker` on 9091.
# (docker-compose.yml sets a role-specific check per service.)
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD curl -fsS -o /dev/null http://127.0.0.1:8000/health \
     || curl -fsS -o /dev/null http://127.0.0.1:9091/health \
     || exit 1

STOPSIGNAL SIGTERM
ENTRYPOINT ["ipam"]
CMD ["serve"]

LABEL org.opencontainers.image.title="ipam" \
      org.opencontainers.image.description="IP address management for 10.0.0.0/8: API, job workers, migrations" \
      org.opencontainers.image.licenses="MIT"
