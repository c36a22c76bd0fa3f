// The server process (started by src/server.ts): config → (local emulators) → app → listen;
// graceful shutdown on signals.
import closeWithGrace from 'close-with-grace'
import { buildApp } from './app.ts'
import { ConfigError, loadConfig, type Config } from './config.ts'
import type { LocalStack } from './local/stack.ts'
import { listen } from './http/listen.ts'
import { MetricsPortInUse, startMetricsServer, type MetricsServer } from './http/metrics-server.ts'
import { DEFAULT_SLUG } from './whitepapers/keys.ts'

async function main (): Promise<void> {
  let config: Config
  try {
    config = loadConfig(process.env)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    process.stderr.write(`leadlink: ${err.message}\nSee .env.example for every setting.\n`)
    process.exit(1)
  }

  let local: LocalStack | undefined
  if (config.mode === 'local') {
    // A production install (--omit=dev) has no emulators: say so in one line, not a stack trace.
    const devDependencyMissing = (err: NodeJS.ErrnoException): never => {
      if (err.code !== 'ERR_MODULE_NOT_FOUND') throw err
      process.stderr.write('leadlink: local mode needs the dev dependencies (run `npm install` without --omit=dev), or set S3_BUCKET (and SES_FROM, TOKEN_SECRET, ADDRESS_KEY) to use a real bucket.\n')
      process.exit(1)
    }
    const { startLocalStack } = await import('./local/stack.ts').catch(devDependencyMissing)
    local = await startLocalStack(config).catch(devDependencyMissing)
    config = local.config
  }

  const app = await buildApp(config, local ? { clientOptions: { credentials: local.credentials } } : {}, {
    fastify: {
      // Slow clients must not hold sockets forever; nothing here streams for long.
      connectionTimeout: 30_000,
      requestTimeout: 30_000,
      keepAliveTimeout: 72_000,
      forceCloseConnections: 'idle'
    }
  })

  // Local mode stands in for SES event publishing too, so that the funnel moves (src/local/ses-events.ts).
  if (local) await app.register((await import('./http/routes/local-events.ts')).default)

  let metricsServer: MetricsServer | undefined
  closeWithGrace({ delay: config.outbox.shutdownGraceMs + 5_000 }, async ({ err, signal }) => {
    if (err) app.log.error({ err }, 'shutting down after an error')
    else app.log.info({ signal }, 'shutting down')
    await app.close()
    await metricsServer?.close()
    await local?.close()
  })

  if (local) {
    const { samplePdfBytes } = await import('./local/stack.ts')
    if (!await app.catalog.current(DEFAULT_SLUG)) {
      const pointer = await app.catalog.publish({
        slug: DEFAULT_SLUG,
        bytes: await samplePdfBytes(),
        filename: 'illustrated-guide-to-presigned-links.pdf',
        title: 'The Illustrated Guide to Presigned Links',
        description: 'How expiring S3 links deliver files straight from the bucket, and why they beat streaming them yourself.'
      })
      app.log.info({ version: pointer.version }, 'local mode: published the sample whitepaper')
    }
  }

  const { address } = await listen(app, { port: config.http.port, host: config.http.host, sockets: config.http.listenSockets })
  // Prometheus scrapes a listener of its own (loopback by default): the public port has no /metrics.
  if (config.metrics.enabled && config.metrics.port !== 0) {
    metricsServer = await startMetricsServer({ registry: app.appMetrics.registry, host: config.metrics.host, port: config.metrics.port, log: app.log })
      .catch(async (err: unknown) => { await app.close(); await local?.close(); throw err })
  }
  if (local) {
    const port = new URL(address).port
    process.stdout.write([
      '',
      'leadlink is running in local mode (S3 and SES emulated in this process, no AWS account needed):',
      `  landing page  http://localhost:${port}/`,
      `  inbox         ${local.inboxUrl}`,
      ...(config.admin.token ? [`  admin         http://localhost:${port}/admin`] : []),
      `  data folder   ${config.local.dataDir}`,
      ''
    ].join('\n') + '\n')
  }
}

try {
  await main()
} catch (err) {
  if (err instanceof MetricsPortInUse) {
    process.stderr.write(`leadlink: ${err.message}\n`)
    process.exit(1)
  }
  // The one failure people hit on their own machine: something already listens on a port.
  const e = err as NodeJS.ErrnoException & { port?: number }
  if (e.code !== 'EADDRINUSE') throw err
  process.stderr.write(`leadlink: port ${e.port ?? ''} is already in use. Is another leadlink (or something else) running? ` +
    'Stop it, or choose other ports with PORT, LOCAL_S3_PORT and LOCAL_SES_PORT.\n')
  process.exit(1)
}
