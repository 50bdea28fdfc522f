# syntax=docker/dockerfile:1
# geotrigger: the service (default command) and, with another command, its tools — the SMSC simulator
# (`node --import tsx tools/smsc.ts`) and the demo traffic driver (`node --import tsx tools/simulate.ts`).
# TypeScript runs through tsx (a production dependency); there is no separate compile step.
ARG NODE_IMAGE=node:20-bookworm-slim

# Stage 1 — production dependencies only. `npm install` honours the versions pinned in package-lock.json;
# `npm ci` is avoided because npm 11 rejects this lock for other platforms' optional binaries (see .ci/run).
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --omit=dev --no-audit --no-fund && npm cache clean --force

# Stage 2 — every dependency, then the typecheck: no image is built from code that fails it.
FROM ${NODE_IMAGE} AS check
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY tools ./tools
COPY test ./test
COPY bench ./bench
RUN npx tsc --noEmit -p tsconfig.json

# Stage 3 — the runtime image: production node_modules, the checked sources, the sample catalogues.
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# Large typed arrays (profile rows, sid tables, the fence index) on transparent huge pages: fewer TLB
# misses on the random reads of the per-ping path (see README, Operations)
ENV GLIBC_TUNABLES=glibc.malloc.hugetlb=1
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY --from=check /app/src ./src
COPY --from=check /app/tools ./tools
COPY geofences ./geofences
COPY segments ./segments
# DATA_DIR (./data): embedded ClickHouse, writer spill files, delivery outbox, generated admin key.
# Mount a volume here; it is the only path the service writes to.
RUN mkdir -p /app/data && chown node:node /app/data
# The image's unprivileged user (uid 1000); nothing runs as root.
USER node
# 8080: HTTP API — pings (POST /v1/pings), definitions, reports, /docs, /metrics, /livez, /readyz (PORT).
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=60s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/livez').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# node itself (not the tsx CLI, which forks a child) so SIGTERM reaches the service's ordered shutdown.
CMD ["node", "--import", "tsx", "src/main.ts"]
