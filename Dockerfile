# The ratls CLI and gateway as a container image: the single-file bundle on a slim Node base.
#   docker build -t registry.internal/ratls:0.1.0 .
#   docker run --rm -v /etc/ratls:/etc/ratls:ro -p 8443:8443 registry.internal/ratls:0.1.0
# (CI does not build this image: no registry is reachable there; the bundle it copies is tested.)
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json tsconfig.base.json ./
COPY packages ./packages
COPY test-support ./test-support
COPY scripts ./scripts
# --ignore-scripts: nothing from the registry runs at build time; esbuild finds its platform binary
# through its optional dependency without its postinstall.
RUN npm ci --no-audit --no-fund --ignore-scripts && npm run bundle

FROM node:20-bookworm-slim
# No shell tricks at run time: one file, one unprivileged user, configuration read-only.
RUN useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin ratls \
  && mkdir -p /etc/ratls /var/lib/ratls /var/cache/ratls \
  && chown ratls:ratls /var/lib/ratls /var/cache/ratls
COPY --from=build /src/dist/ratls.cjs /usr/local/lib/ratls/ratls.cjs
COPY packaging/ratls.sh /usr/local/bin/ratls
USER ratls
WORKDIR /var/lib/ratls
# NODE_OPTIONS is cleared so nothing (an --inspect flag, a --require) rides into the process that
# holds the TLS key.
ENV NODE_OPTIONS=""
ENTRYPOINT ["/usr/local/bin/ratls"]
CMD ["gateway", "--config", "/etc/ratls/gateway.yaml"]
