# leadlink container image. The build stage compiles the emails (mjml), precompiles the schemas and
# bundles the server (esbuild), all devDependencies; the runtime stage holds production dependencies
# and the build's output, and runs the bundle on Node 24.
FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

FROM node:24-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only (--omit=optional drops the `node` binary the image already has, and the
# 65 express packages an optional peer would pull in): the precompiled schemas load Ajv's and fast-json-stringify's runtime helpers,
# and the landing page serves the ALTCHA widget, from node_modules.
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund && npm cache clean --force
COPY public ./public
# The CLIs (`node scripts/whitepaper.ts`, `node scripts/signups.ts`) run from the sources.
COPY src ./src
COPY scripts ./scripts
COPY --from=build /app/templates ./templates
COPY --from=build /app/dist ./dist
USER node
EXPOSE 3000
# `npm start` would rebuild first (the build tools are devDependencies): run the bundle directly.
CMD ["node", "dist/node/server.mjs"]
