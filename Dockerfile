# The API image for server mode (docker-compose.yml). The embedded engine package is installed
# but never loaded when CLICKHOUSE_URL is set.
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY src ./src
COPY sql ./sql
COPY migrations ./migrations
COPY openapi ./openapi
COPY web ./web
ENV HOST=0.0.0.0 PORT=8080 NODE_ENV=production
EXPOSE 8080
USER node
CMD ["node", "--import", "tsx", "src/server.ts"]
