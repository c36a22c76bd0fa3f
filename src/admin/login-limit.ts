// Failed /admin log-ins per client IP (rate-limiter-flexible): only a wrong token counts, so a marketer
// who logs in often is never locked out; shared through Redis when every instance has one.
// https://github.com/animir/node-rate-limiter-flexible/wiki/Overall-example#login-endpoint-protection
import type { Redis } from 'ioredis'
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible'

/** The window the failures are counted in. */
export const LOGIN_FAILURE_WINDOW_SECONDS = 15 * 60

export interface LoginLimitOptions {
  /** ADMIN_LOGIN_MAX_FAILURES: wrong tokens per IP per window before the IP waits */
  maxFailures: number
  /** app.sharedRedis: counts shared by every instance; without it each instance counts alone */
  redis?: Redis | undefined
}

export type LoginLimit = ReturnType<typeof createLoginLimit>

export function createLoginLimit (options: LoginLimitOptions) {
  const { maxFailures } = options
  const settings = { keyPrefix: 'leadlink-admin-login-failures', points: maxFailures, duration: LOGIN_FAILURE_WINDOW_SECONDS }
  const memory = new RateLimiterMemory(settings)
  // Redis down: this instance counts alone (the insurance limiter) rather than refusing every log-in.
  const limiter = options.redis
    ? new RateLimiterRedis({ ...settings, storeClient: options.redis, rejectIfRedisNotReady: true, insuranceLimiter: memory })
    : memory

  return {
    /** Seconds this IP must wait before it may try again (0: it may try now). */
    async blockedFor (ip: string): Promise<number> {
      const res = await limiter.get(ip)
      if (!res || res.consumedPoints < maxFailures) return 0
      return Math.max(1, Math.ceil(res.msBeforeNext / 1000))
    },

    /** Counts one wrong token. */
    async fail (ip: string): Promise<void> {
      await limiter.consume(ip).catch(err => {
        // Past the limit consume rejects with the count itself; blockedFor says so on the next try.
        if (!(err instanceof RateLimiterRes)) throw err
      })
    },

    /** A right token clears this IP's failures. */
    async succeed (ip: string): Promise<void> {
      await limiter.delete(ip)
    }
  }
}
