// Health: /healthz says the process is up (liveness, touches nothing outside the process);
// /readyz runs the readiness checks (S3, SES, and whatever other features registered).
import { Type } from 'typebox'
import type { App } from '../app-type.ts'

export const HealthSchema = Type.Object({ status: Type.Literal('ok', { description: 'always ok while the process serves requests' }) })

// An enum of strings, not a union: the serializer writes it as a string, without an Ajv to pick a branch.
const CheckResultSchema = Type.Enum(['ok', 'failed', 'timeout'], { type: 'string', description: 'ok, failed, or timeout (no answer within READY_TIMEOUT_MS)' })

export const ReadySchema = Type.Object({
  status: Type.Literal('ready', { description: 'every check passed' }),
  checks: Type.Record(Type.String(), CheckResultSchema, { description: 'each check by name (s3, ses, …)' })
}, { description: 'every dependency answered' })

export const NotReadySchema = Type.Object({
  status: Type.Literal('unavailable', { description: 'at least one check failed' }),
  checks: Type.Record(Type.String(), CheckResultSchema, { description: 'each check by name (s3, ses, …)' }),
  errors: Type.Record(Type.String(), Type.String(), { description: 'for each failed check, the error name (AccessDenied, NoSuchBucket, Timeout…), never its message' })
}, { description: 'a dependency is unreachable or refuses our credentials' })

export default async function healthRoutes (app: App) {
  app.get('/healthz', {
    schema: {
      summary: 'Liveness',
      description: 'Answers while the process serves requests; touches nothing outside the process.',
      tags: ['operations'],
      response: { 200: HealthSchema }
    },
    logLevel: 'warn'
  }, async () => ({ status: 'ok' as const }))

  app.get('/readyz', {
    schema: {
      summary: 'Readiness',
      description: 'Checks that S3 (HeadBucket) and SES (GetAccount) answer, each within READY_TIMEOUT_MS. 503 names what failed.',
      tags: ['operations'],
      response: { 200: ReadySchema, 503: NotReadySchema }
    },
    logLevel: 'warn'
  }, async (_request, reply) => {
    const report = await app.readiness.run()
    reply.header('cache-control', 'no-store')
    if (report.ready) return reply.code(200).send({ status: 'ready' as const, checks: report.checks })
    return reply.code(503).send({ status: 'unavailable' as const, checks: report.checks, errors: report.errors })
  })
}
