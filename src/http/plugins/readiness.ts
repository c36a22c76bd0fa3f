// Readiness: named async checks (S3 and SES built in; other features add theirs), each under a deadline.
import { HeadBucketCommand } from '@aws-sdk/client-s3'
import { GetAccountCommand } from '@aws-sdk/client-sesv2'
import type { FastifyBaseLogger, FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'

/** Resolves when the dependency is usable; rejects (or outlives the deadline) when not. Stop work when `signal` aborts. */
export type ReadinessCheck = (signal: AbortSignal) => Promise<unknown>

export type CheckResult = 'ok' | 'failed' | 'timeout'

export interface ReadinessReport {
  ready: boolean
  checks: Record<string, CheckResult>
  /** for each failed check, the error's name (AccessDenied, NoSuchBucket, ECONNREFUSED…): never its message */
  errors: Record<string, string>
}

export interface Readiness {
  /** Registers a check under a unique name (the key in /readyz's `checks`). */
  add: (name: string, check: ReadinessCheck) => void
  run: () => Promise<ReadinessReport>
}

declare module 'fastify' {
  interface FastifyInstance {
    readiness: Readiness
  }
}

class ReadinessTimeout extends Error {
  constructor () {
    super('readiness check timed out')
    this.name = 'Timeout'
  }
}

const SAFE_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/

/** An error's name or code only: messages can quote bucket names, ARNs or addresses. */
function errorName (err: unknown): string {
  const e = err as { name?: unknown, code?: unknown }
  for (const candidate of [e?.code, e?.name]) {
    if (typeof candidate === 'string' && SAFE_NAME.test(candidate) && candidate !== 'Error') return candidate
  }
  return 'Error'
}

export function createReadiness (options: { timeoutMs: number, log: FastifyBaseLogger }): Readiness {
  const checks = new Map<string, ReadinessCheck>()

  async function runOne (name: string, check: ReadinessCheck): Promise<[CheckResult, string | undefined]> {
    const controller = new AbortController()
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        const err = new ReadinessTimeout()
        controller.abort(err)
        reject(err)
      }, options.timeoutMs)
    })
    try {
      // The race also covers a check that ignores its signal (a credential provider that hangs).
      await Promise.race([check(controller.signal), deadline])
      return ['ok', undefined]
    } catch (err) {
      const timedOut = err instanceof ReadinessTimeout || controller.signal.aborted
      options.log.warn({ err, check: name }, timedOut ? 'readiness check timed out' : 'readiness check failed')
      return timedOut ? ['timeout', 'Timeout'] : ['failed', errorName(err)]
    } finally {
      clearTimeout(timer)
    }
  }

  return {
    add (name, check) {
      if (!SAFE_NAME.test(name)) throw new Error(`invalid readiness check name: ${name}`)
      if (checks.has(name)) throw new Error(`readiness check "${name}" is already registered`)
      checks.set(name, check)
    },
    async run () {
      const entries = [...checks]
      const results = await Promise.all(entries.map(([name, check]) => runOne(name, check)))
      const report: ReadinessReport = { ready: true, checks: {}, errors: {} }
      entries.forEach(([name], i) => {
        const [result, error] = results[i]!
        report.checks[name] = result
        if (result !== 'ok') {
          report.ready = false
          report.errors[name] = error ?? 'Error'
        }
      })
      return report
    }
  }
}

/**
 * Decorates `app.readiness` with the S3 and SES checks. Register after the `aws` plugin; a later plugin
 * adds its own with `app.readiness.add('outbox', async signal => …)`.
 */
export default fp(async function readiness (app: FastifyInstance, opts: { timeoutMs: number }) {
  const registry = createReadiness({ timeoutMs: opts.timeoutMs, log: app.log })
  const { aws, config } = app
  // HeadBucket: reachable, credentials valid, bucket exists (needs s3:ListBucket on the bucket).
  registry.add('s3', signal => aws.s3.send(new HeadBucketCommand({ Bucket: config.aws.s3.bucket }), { abortSignal: signal }))
  // GetAccount: reachable and credentials valid (needs ses:GetAccount).
  registry.add('ses', signal => aws.ses.send(new GetAccountCommand({}), { abortSignal: signal }))
  app.decorate('readiness', registry)
}, { name: 'readiness', dependencies: ['config', 'aws'] })
