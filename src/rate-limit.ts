// Per-IP rate limits for the routes that cost us an email or a signature (@fastify/rate-limit).
import type { App } from './app.ts'

/** The route option for RATE_LIMIT_PER_IP_PER_MINUTE; false when set to 0 (off). */
export function perIpPerMinute (app: App): false | { max: number, timeWindow: number } {
  const max = app.services.config.RATE_LIMIT_PER_IP_PER_MINUTE
  return max > 0 ? { max, timeWindow: 60_000 } : false
}
