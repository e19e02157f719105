# syntax=docker/dockerfile:1
# Eventline: the server and the console it serves, in one image.
#   docker build -t eventline .          docker compose up --build

ARG NODE_IMAGE=node:20-bookworm-slim

# --- build: install the workspace, build the SPA and the server, cut the production dependencies
FROM ${NODE_IMAGE} AS build
# better-sqlite3 compiles from source when no prebuilt binary matches this platform.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
RUN npm install --global pnpm@10
ENV CI=true
WORKDIR /repo

# Manifests first, so the dependency layer is reused until one of them changes.
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml .npmrc ./
COPY packages/shared/package.json packages/shared/
COPY apps/server/package.json apps/server/
COPY apps/web/package.json apps/web/
COPY e2e/package.json e2e/
RUN pnpm install --frozen-lockfile

COPY . .
RUN pnpm build
# The server's production dependencies only (the shared package is bundled into dist/main.js).
RUN pnpm --filter @eventline/server deploy --prod --legacy /deploy/server

# --- runtime: node, the server's production dependencies, its bundle and the SPA
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    EVENTLINE_HOST=0.0.0.0 \
    EVENTLINE_PORT=8080 \
    EVENTLINE_DB=/data/eventline.db
WORKDIR /app
# The server finds the SPA at <dir of main.js>/../../web/dist, so the workspace layout is kept.
# Files stay owned by root: the process can read its code but not change it.
COPY --from=build /deploy/server/package.json apps/server/package.json
COPY --from=build /deploy/server/node_modules apps/server/node_modules
COPY --from=build /repo/apps/server/dist apps/server/dist
COPY --from=build /repo/apps/web/dist apps/web/dist
RUN mkdir -p /data && chown node:node /data
VOLUME /data

# `node` (uid 1000) comes with the base image.
USER node
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.EVENTLINE_PORT || 8080) + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "apps/server/dist/main.js"]
