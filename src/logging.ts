// Logger options: JSON logs with request ids; addresses and secrets never reach them.
import { stdSerializers, type LoggerOptions } from 'pino'

const EMAIL_RE = /[A-Za-z0-9!#$%&'*+=?^_`{|}~.-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g

/** Replaces anything shaped like an address: AWS error messages quote recipients verbatim. */
export function scrubAddresses (text: string): string {
  return text.replace(EMAIL_RE, '[address]')
}

function scrubError (err: Error) {
  // Not every logged `err` is an Error (some callers log only its name): never crash the logger.
  if (!(err instanceof Error)) {
    const plain: Record<string, unknown> = typeof err === 'object' && err !== null ? { ...err as Record<string, unknown> } : { message: String(err) }
    for (const key of ['message', 'stack']) if (typeof plain[key] === 'string') plain[key] = scrubAddresses(plain[key] as string)
    return plain
  }
  const out = stdSerializers.err(err)
  return { ...out, message: scrubAddresses(out.message ?? ''), stack: scrubAddresses(out.stack ?? '') }
}

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-admin-token"]',
  'res.headers["set-cookie"]',
  'email',
  'address',
  '*.email',
  '*.address'
]

export function loggerOptions (level: string): LoggerOptions {
  return {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    serializers: {
      err: scrubError,
      // Query strings carry signed tokens: log the path only. Recipient links carry theirs in the path
      // (/c/:token, /u/:token, /d/:token): a token in a log would confirm, unsubscribe or mint links, so log the route.
      req: (req: { method: string, url: string, id: string, routeOptions?: { url?: string } }) => {
        const route = req.routeOptions?.url
        return { method: req.method, url: route?.includes(':token') ? route : req.url.split('?')[0], id: req.id }
      }
    }
  }
}
