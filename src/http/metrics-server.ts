// The private /metrics listener on METRICS_HOST:METRICS_PORT (loopback by default), started by
// src/serve.ts beside the app: counters that move with each signup must not face the internet.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { FastifyBaseLogger } from 'fastify'
import type { Registry } from '@prometheus-io/client'

/** The port is taken: serve.ts prints this message as its one line. */
export class MetricsPortInUse extends Error {
  constructor (host: string, port: number) {
    super(`METRICS_PORT ${port} (the /metrics listener on ${host}) is already in use. Is another leadlink running? ` +
      'Choose another port with METRICS_PORT, or METRICS_PORT=0 to turn the listener off.')
    this.name = 'MetricsPortInUse'
  }
}

export interface MetricsServerOptions {
  registry: Registry
  host: string
  /** 0 picks a free port (tests); serve.ts never starts the listener for METRICS_PORT=0 */
  port: number
  log?: FastifyBaseLogger
}

export interface MetricsServer {
  /** http://host:port/metrics */
  url: string
  close: () => Promise<void>
}

export async function startMetricsServer (options: MetricsServerOptions): Promise<MetricsServer> {
  const { registry, host, log } = options
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0]
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found: try /metrics\n')
      return
    }
    registry.metrics().then(text => {
      res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' })
      res.end(req.method === 'HEAD' ? undefined : text)
    }, (err: unknown) => {
      log?.error({ err }, 'metrics could not be collected')
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics could not be collected\n')
    })
  })
  // A scrape is one small response: a slow or stuck client gets no more time than that needs.
  server.requestTimeout = 10_000
  server.headersTimeout = 10_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(err.code === 'EADDRINUSE' ? new MetricsPortInUse(host, options.port) : err)
    })
    server.listen(options.port, host, () => resolve())
  })
  server.on('error', err => log?.error({ err }, 'metrics listener failed'))
  const { port } = server.address() as AddressInfo
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/metrics`
  log?.info({ url }, 'metrics listening')
  return {
    url,
    // Node ≥ 19 also closes idle keep-alive sockets (Prometheus keeps its connection open).
    close: () => new Promise<void>((resolve, reject) => server.close(err => err ? reject(err) : resolve()))
  }
}
