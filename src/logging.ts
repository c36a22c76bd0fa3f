// Logger options: JSON logs with request ids; addresses and secrets never reach them.
import { stdSerializers, type LoggerOptions } from 'pino'

// A recipient-link token is a bearer secret (it confirms, unsubscribes or mints download links). It is
// whatever follows /c/, /u/ or /d/ up to the next slash, query or fragment, whether or not a route
// matched (a trailing slash, bad percent-encoding, another method); any other run of 80 or more
// base64url characters is taken for one too (the shortest token has 100: a path that reaches it another
// way, like /%75/<token>, or a cut-down one in an error message).
const LINK_TOKEN_RE = /\/([cud])\/[^/?#\s"'<>]+/gi
const LONG_TOKEN_RE = /[A-Za-z0-9_-]{80,}/g

/** Replaces signed tokens in a URL or a message with `[token]`: /u/<token>/ becomes /u/[token]/. */
export function redactTokens (text: string): string {
  return text.replace(LINK_TOKEN_RE, '/$1/[token]').replace(LONG_TOKEN_RE, '[token]')
}

/** A URL fit for a log line: the path only (query strings carry tokens too), tokens redacted. */
export function redactUrl (url: unknown): string {
  if (typeof url !== 'string') return ''
  return redactTokens(url.split(/[?#]/, 1)[0] ?? '')
}

const EMAIL_RE = /[A-Za-z0-9!#$%&'*+=?^_`{|}~.-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/g

/** Replaces anything shaped like an address: AWS error messages quote recipients verbatim. */
export function scrubAddresses (text: string): string {
  return text.replace(EMAIL_RE, '[address]')
}

const scrub = (text: string) => redactTokens(scrubAddresses(text))

function scrubError (err: Error) {
  // Not every logged `err` is an Error (some callers log only its name): never crash the logger.
  const plain: Record<string, unknown> = err instanceof Error
    ? { ...stdSerializers.err(err) }
    : typeof err === 'object' && err !== null ? { ...err as Record<string, unknown> } : { message: String(err) }
  // Router errors quote the path (FST_ERR_BAD_URL: "'/u/<token>%' is not a valid url component").
  for (const [key, value] of Object.entries(plain)) if (typeof value === 'string') plain[key] = scrub(value)
  return plain
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
      // The raw URL, not the matched route: requests that match no route (a trailing slash, another
      // method, bad percent-encoding) are logged as well, and the same redaction covers them all.
      req: (req: { method: string, url: string, id: string }) => ({ method: req.method, url: redactUrl(req.url), id: req.id }),
      url: redactUrl
    },
    hooks: {
      // Messages that quote a URL (Fastify's "Route GET:/u/… not found", a reply already sent).
      logMethod (args, method) {
        for (let i = 0; i < args.length; i++) if (typeof args[i] === 'string') args[i] = redactTokens(args[i] as string)
        return method.apply(this, args)
      }
    }
  }
}
