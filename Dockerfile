# syntax=docker/dockerfile:1
# One image for the worker and the API (docker-compose.yml picks the command).
#
# `npm ci` refuses a lockfile that lacks other platforms' optional native packages (see
# docs/operations-dev.md, "npm and the lockfile"); `npm install --no-save` then installs the same locked
# versions without rewriting the lockfile.

FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund || npm install --no-audit --no-fund --no-save
COPY . .
# dist/, then the console's API types generated from the OpenAPI document (scripts/console-api-types.ts).
RUN npm run build && node dist/scripts/console-api-types.js

# The web console: static files the API serves at `/` (docs/console.md).
FROM node:24-slim AS console
WORKDIR /app/console
COPY console/package.json console/package-lock.json ./
RUN npm ci --no-audit --no-fund || npm install --no-audit --no-fund --no-save
COPY console/ ./
COPY --from=build /app/console/src/api.gen.ts ./src/api.gen.ts
# --ignore-scripts: the types are already generated above (prebuild would need the API's dist/).
RUN npm run build --ignore-scripts

FROM node:24-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN (npm ci --omit=dev --no-audit --no-fund || npm install --omit=dev --no-audit --no-fund --no-save) \
  && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY --from=console /app/console/dist ./console/dist
USER node
CMD ["node", "dist/api/main.js"]
