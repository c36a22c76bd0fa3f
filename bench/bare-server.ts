// Start-up and memory floor for the bench: Fastify plus the AWS SDK clients leadlink loads, serving /healthz only.
import Fastify from 'fastify'
// Loaded as leadlink loads it, though /healthz never signs anything (referenced, so that a
// bundler keeps it: the package says it has no side effects).
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import { benchEnv } from './aws.ts'

const { port, host, s3, ses } = benchEnv(process.env)
if (typeof getSignedUrl !== 'function') throw new Error('@aws-sdk/s3-request-presigner did not load')
const app = Fastify({ logger: { level: process.env.LOG_LEVEL ?? 'warn' } })
app.addHook('onClose', async () => {
  s3.destroy()
  ses.destroy()
})
app.get('/healthz', async () => ({ status: 'ok' }))
process.once('SIGTERM', () => {
  app.close().then(() => process.exit(0), () => process.exit(1))
})
await app.listen({ port, host })
