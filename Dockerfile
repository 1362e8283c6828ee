# syntax=docker/dockerfile:1
# mailwarden: one image, five roles (DESIGN §1). The command is the role:
#   docker run mailwarden api | worker | relay | bounce | all
ARG NODE_IMAGE=node:20-bookworm-slim

# 1. Build: every dependency, TypeScript compiled to dist/.
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY workers ./workers
COPY scripts ./scripts
# The benchmarks (compiled with the rest) reuse the test DNS server and SMTP client.
COPY test/support/dns-server.ts test/support/smtp-client.ts ./test/support/
RUN npm run --silent build

# 2. Production dependencies only.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# 3. Runtime: production dependencies and the built dist/, run as the unprivileged `node` user.
FROM ${NODE_IMAGE} AS runtime
# A non-root user cannot bind ports below 1024 everywhere (Kubernetes, older engines): the
# image listens on high ports, and compose publishes them as 587, 465 and 25.
ENV NODE_ENV=production \
    PORT=8080 \
    SMTP_PORT=2587 \
    SMTPS_PORT=2465 \
    BOUNCE_SMTP_PORT=2525
WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY package.json ./
# Nothing under /app is writable by the service; TLS files are mounted read-only (README).
USER node
# HTTP API, metrics, SMTP submission (STARTTLS), SMTPS (implicit TLS), bounce intake.
EXPOSE 8080 9464 2587 2465 2525
# The role is read from PID 1's command line: /healthz for api/all, /metrics for worker
# (METRICS_PORT), an SMTP greeting for relay and bounce.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 CMD ["node", "dist/scripts/healthcheck.js"]
ENTRYPOINT ["node", "dist/src/main.js"]
CMD ["all"]
