# syntax=docker/dockerfile:1
# Build stage: install all dependencies and check the TypeScript.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
COPY test ./test
COPY bench ./bench
RUN npx tsc --noEmit -p tsconfig.json

# Runtime stage: production dependencies only, non-root.
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm install --no-save tsx@4 && npm cache clean --force
COPY --from=build /app/src ./src
COPY geofences ./geofences
COPY segments ./segments
RUN mkdir -p /app/data && chown -R node:node /app/data
USER node
# 8080: HTTP API (pings, definitions, reports, /metrics, /livez, /readyz)
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:8080/livez').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
CMD ["node", "--import", "tsx", "src/main.ts"]
