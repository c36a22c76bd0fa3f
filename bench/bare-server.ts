// Start-up and memory floor for the bench: Fastify plus the AWS SDK clients leadlink loads, serving /healthz
// only. Run as a file (as people run such an app, or bundled as leadlink is), it listens; imported, it only exports.
import Fastify, { type FastifyInstance } from 'fastify'
// Loaded as leadlink loads it, though /healthz never signs anything (referenced, so that a
// bundler keeps it: the package says it has no side effects).
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { benchEnv } from './aws.ts'

export async function startBareServer (env: Record<string, string | undefined>): Promise<FastifyInstance> {
  const { port, host, s3, ses } = benchEnv(env)
  if (typeof getSignedUrl !== 'function') throw new Error('@aws-sdk/s3-request-presigner did not load')
  const app = Fastify({ logger: { level: env.LOG_LEVEL ?? 'warn' } })
  app.addHook('onClose', async () => {
    s3.destroy()
    ses.destroy()
  })
  app.get('/healthz', async () => ({ status: 'ok' }))
  await app.listen({ port, host })
  return app
}

if (import.meta.main) {
  const app = await startBareServer(process.env)
  process.once('SIGTERM', () => {
    app.close().then(() => process.exit(0), () => process.exit(1))
  })
}
