// Security headers (@fastify/helmet): a CSP with no inline script anywhere, framing refused,
// no referrer (recipient links carry tokens in their paths).
import helmet from '@fastify/helmet'
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Config } from '../../config.ts'

/** Where browsers may send S3 requests: the admin page uploads straight to the bucket. */
export function s3Origins (config: Config): string[] {
  const { region, s3 } = config.aws
  if (s3.endpoint) return [new URL(s3.endpoint).origin]
  return [`https://${s3.bucket}.s3.${region}.amazonaws.com`, `https://s3.${region}.amazonaws.com`]
}

export default fp(async function securityHeaders (app: FastifyInstance, opts: { config: Config }) {
  const { config } = opts
  const captcha = config.signup.captcha === 'altcha'
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        // The ALTCHA widget styles its shadow DOM with a <style> element.
        styleSrc: captcha ? ["'self'", "'unsafe-inline'"] : ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'", ...s3Origins(config)],
        workerSrc: ["'self'", 'blob:'],
        formAction: ["'self'", ...s3Origins(config)],
        frameAncestors: ["'none'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        // Local mode is plain http on localhost: upgrading would break it.
        ...(config.http.publicUrl.startsWith('https:') ? { upgradeInsecureRequests: [] } : {})
      }
    },
    referrerPolicy: { policy: 'no-referrer' },
    // Downloads are links to S3, not embedded resources: nothing here needs cross-origin isolation.
    crossOriginEmbedderPolicy: false,
    hsts: config.http.publicUrl.startsWith('https:') ? { maxAge: 31_536_000, includeSubDomains: false } : false
  })
}, { name: 'security-headers' })
