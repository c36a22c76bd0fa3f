// Per-IP rate limits for the routes that cost us an email or a signature (@fastify/rate-limit),
// counted in Redis when RATE_LIMIT_REDIS_URL is set so that every instance shares the counts.
import rateLimit from '@fastify/rate-limit'
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import type { Redis } from 'ioredis'
import type { App } from '../app-type.ts'
import type { Config } from '../../config.ts'

declare module 'fastify' {
  interface FastifyInstance {
    /** the Redis every instance shares (RATE_LIMIT_REDIS_URL), for counts and single-use marks; undefined: each instance alone */
    sharedRedis: Redis | undefined
  }
}

/** The route option for RATE_LIMIT_PER_IP_PER_MINUTE × factor; false when set to 0 (off). */
export function perIpPerMinute (app: App, factor = 1): false | { max: number, timeWindow: number } {
  const max = app.config.rateLimit.perIpPerMinute * factor
  return max > 0 ? { max, timeWindow: 60_000 } : false
}

export default fp(async function rateLimits (app: FastifyInstance, opts: { config: Config }) {
  const url = opts.config.rateLimit.redisUrl
  const redis = url
    // Fail fast: a Redis outage must not hold requests (the plugin then lets them through, see skipOnError).
    ? new (await import('ioredis')).Redis(url, { connectTimeout: 1000, maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: true })
    : undefined
  app.decorate('sharedRedis', redis)
  if (redis) {
    await redis.connect().catch(err => app.log.warn({ err: { name: (err as Error).name } }, 'rate-limit Redis not reachable yet; limits are skipped until it is'))
    app.addHook('onClose', async () => { redis.disconnect() })
  }
  await app.register(rateLimit, {
    global: false,
    ...(redis ? { redis, nameSpace: 'leadlink-rl:', skipOnError: true } : {})
  })
}, { name: 'rate-limits' })
