# leadlink container image. The email templates are compiled with mjml (a devDependency) in the build
# stage; the runtime stage holds production dependencies only and runs the TypeScript sources on Node 24.
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
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY src ./src
COPY public ./public
COPY scripts ./scripts
COPY --from=build /app/templates ./templates
USER node
EXPOSE 3000
# `npm start` would rebuild the templates (mjml is not installed here): run the server directly.
CMD ["node", "src/server.ts"]
