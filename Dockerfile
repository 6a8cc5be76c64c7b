# syntax=docker/dockerfile:1
# The daemon as a container image. The build stage packs the package (prepack compiles the TypeScript) and installs
# the tarball as a user would, compiling better-sqlite3; the runtime stage holds only that install, runs as the
# image's non-root user `node`, keeps its data in the /data volume and serves on 0.0.0.0:2225.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
# node-gyp compiles better-sqlite3 (and the dev-only pkcs11js) from source.
RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 make g++ \
    && rm -rf /var/lib/apt/lists/*
# The official image's node headers; the repository's .npmrc points node-gyp at Debian's /usr instead.
ENV npm_config_nodedir=/usr/local
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm pack --pack-destination /tmp \
    && mkdir /app \
    && cd /app \
    && echo '{"name":"local-cloudhsm-image","private":true}' > package.json \
    && npm install --omit=dev --no-audit --no-fund /tmp/local-cloudhsm-*.tgz

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Owned by root: the daemon's user can read the code but not change it.
COPY --from=build /app /app
RUN mkdir /data && chown node:node /data && chmod 0700 /data
USER node
VOLUME ["/data"]
EXPOSE 2225
# Settings as environment variables, so flags given to `docker run` (or compose's command) still win. Plaintext on
# 0.0.0.0 is what a container on a private network needs; publish the port on the host's loopback only (compose
# example), or give --tls-cert-file and --tls-key-file. Development users are refused off loopback: create users
# through the admin service with LOCALCLOUDHSM_ADMIN_SECRET.
ENV LOCALCLOUDHSM_LISTEN=0.0.0.0:2225 \
    LOCALCLOUDHSM_DATA_DIR=/data \
    LOCALCLOUDHSM_ALLOW_INSECURE=true
# grpc.health.v1 through the package's own probe (no grpc_health_probe binary); it checks over plaintext, so a
# TLS deployment overrides this with --tls-ca-file.
HEALTHCHECK --interval=10s --timeout=5s --start-period=15s --retries=3 \
    CMD ["node", "/app/node_modules/local-cloudhsm/dist/src/server/healthProbe.js", "127.0.0.1:2225"]
ENTRYPOINT ["node", "/app/node_modules/local-cloudhsm/dist/src/server/main.js"]
