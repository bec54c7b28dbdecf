# hoinghi server image: Debian 12 + Node 20, mediasoup worker built (or downloaded) by the
# project's own setup, then a slim runtime with only the shared libraries the worker needs.

FROM node:20-bookworm-slim AS build
WORKDIR /app
ENV HOINGHI_CACHE_DIR=/cache
COPY package.json package-lock.json ./
COPY scripts ./scripts
# Installs npm packages and provides the mediasoup worker (prebuilt when reachable,
# else built from mediasoup's sources against Debian's libraries).
RUN node scripts/setup.mjs run
COPY . .
# NODE_ENV=production for the build only (npm ci above needs the dev dependencies): no client
# source maps in the image.
RUN NODE_ENV=production npm run build && npm prune --omit=dev \
 && cp "$(find /cache -name mediasoup-worker -type f | head -n 1)" /app/mediasoup-worker

FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends libuv1 libssl3 libsrtp2-1 libusrsctp2 libabsl20220623 \
    poppler-utils ffmpeg chromium fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/config ./config
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/mediasoup-worker ./bin/mediasoup-worker
ENV NODE_ENV=production \
    MEDIASOUP_WORKER_BIN=/app/bin/mediasoup-worker \
    HOINGHI_DATA_DIR=/data
# The server runs as the image's unprivileged "node" user; /data is its own, private to it.
RUN mkdir -p /data && chown node:node /data && chmod 0700 /data
VOLUME ["/data"]
# HTTP (put a TLS proxy in front), the RTC port: UDP and TCP (one per worker: 40000, 40001, …),
# and the RTP ingest ports of the halls' AV systems (ingest.portMin–portMax).
EXPOSE 3000/tcp 40000/udp 40000/tcp 40001/udp 40001/tcp 41000-41999/udp
STOPSIGNAL SIGTERM
USER node
CMD ["node", "dist/server/src/main.js"]
