// The signup use case and its abuse checks: single-use form stamps and, when CAPTCHA=altcha, the challenge.
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { systemClock } from '../../clock.ts'
import type { Altcha } from '../../abuse/altcha.ts'
import { createFormStamps, type FormStamps } from '../../abuse/form-stamp.ts'
import { createSignup, type Signup } from '../../subscribers/signup.ts'
import type { ServiceDeps } from './deps.ts'

declare module 'fastify' {
  interface FastifyInstance {
    signup: Signup
    formStamps: FormStamps
    /** present when CAPTCHA=altcha */
    altcha: Altcha | undefined
  }
}

export default fp(async function signup (app: FastifyInstance, opts: { deps: ServiceDeps }) {
  const { config, aws } = app
  const clock = opts.deps.now ?? systemClock
  const { tokenSecrets } = config.links
  app.decorate('signup', createSignup({
    catalog: app.catalog,
    store: app.subscribers,
    outbox: app.outboxWriter,
    limits: { cooldownMs: config.signup.cooldownMs, maxEmails: config.signup.maxEmails, windowDays: config.signup.windowDays },
    recordRequester: config.privacy.recordSignupIp,
    now: clock
  }))
  // Used stamps are remembered in the shared Redis when there is one (the rate-limits plugin's).
  app.decorate('formStamps', createFormStamps({ secrets: tokenSecrets, redis: app.sharedRedis, log: app.log, now: clock }))
  app.decorate('altcha', config.signup.captcha === 'altcha'
    ? (await import('../../abuse/altcha.ts')).createAltcha({ secret: tokenSecrets[0] as string, s3: aws.s3, bucket: config.aws.s3.bucket })
    : undefined)
}, { name: 'signup', dependencies: ['config', 'aws', 'whitepapers', 'subscribers', 'outbox', 'rate-limits'] })
