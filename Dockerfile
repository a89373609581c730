# syntax=docker/dockerfile:1
# One image for the worker and the API (docker-compose.yml picks the command).
#
# `npm ci` refuses a lockfile that lacks other platforms' optional native packages (see
# docs/operations-dev.md, "npm and the lockfile"); `npm install --no-save` then installs the same locked
# versions without rewriting the lockfile.

FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund || npm install --no-audit --no-fund --no-save
COPY . .
RUN npm run build

FROM node:20-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN (npm ci --omit=dev --no-audit --no-fund || npm install --omit=dev --no-audit --no-fund --no-save) \
  && npm cache clean --force
COPY --from=build /app/dist ./dist
USER node
CMD ["node", "dist/api/main.js"]
