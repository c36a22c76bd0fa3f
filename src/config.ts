// Configuration: the one place that reads the environment; boot fails with every problem listed.
import { Type, type Static, type TSchema } from 'typebox'
import { Value } from 'typebox/value'
import { describeProblem } from './schema/problem.ts'

const Port = (def: number, description: string) =>
  Type.Integer({ minimum: 0, maximum: 65535, default: def, description })
const Seconds = (def: number, description: string, maximum?: number) =>
  Type.Integer({ minimum: 0, default: def, description, ...(maximum === undefined ? {} : { maximum }) })

// SigV4 presigned URLs live at most 7 days.
// https://docs.aws.amazon.com/AmazonS3/latest/userguide/ShareObjectPreSignedURL.html
export const MAX_LINK_TTL_SECONDS = 604800

export const EnvSchema = Type.Object({
  NODE_ENV: Type.Union([Type.Literal('development'), Type.Literal('production'), Type.Literal('test')], { default: 'development', description: 'production forbids local mode and requires every AWS setting' }),
  PORT: Port(3000, 'HTTP port'),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1', description: 'interface to listen on (0.0.0.0 in a container)' }),
  PUBLIC_URL: Type.Optional(Type.String({ pattern: '^https?://', description: 'base URL used in emails; required in production' })),
  LOG_LEVEL: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info', description: 'pino log level' }),
  AWS_REGION: Type.String({ minLength: 1, default: 'us-east-1', description: 'region of the bucket and of SES' }),
  S3_BUCKET: Type.Optional(Type.String({ pattern: '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$', description: 'bucket holding whitepapers, signups and the outbox; unset outside production means local mode' })),
  S3_ENDPOINT: Type.Optional(Type.String({ pattern: '^https?://', description: 'S3-compatible endpoint (MinIO, s3rver); unset for AWS' })),
  S3_FORCE_PATH_STYLE: Type.Boolean({ default: false, description: 'path-style S3 URLs (needed by most S3 emulators)' }),
  SES_ENDPOINT: Type.Optional(Type.String({ pattern: '^https?://', description: 'SES v2 endpoint override; unset for AWS' })),
  SES_FROM: Type.Optional(Type.String({ minLength: 3, maxLength: 320, pattern: '^[^\\r\\n]+@[^\\r\\n]+$', description: 'verified sender, e.g. "Acme <hello@acme.com>"; required in production' })),
  SES_CONFIGURATION_SET: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'SES configuration set for event publishing' })),
  EMAIL_SUBJECT: Type.String({ minLength: 1, maxLength: 200, default: 'Your copy of {{title}}', description: 'subject line; {{title}} is the whitepaper title' }),
  LINK_TTL_SECONDS: Type.Integer({ minimum: 60, maximum: MAX_LINK_TTL_SECONDS, default: MAX_LINK_TTL_SECONDS, description: 'lifetime of the download link in the email (SigV4 maximum 604800)' }),
  FRESH_LINK_TTL_SECONDS: Type.Integer({ minimum: 30, maximum: 3600, default: 300, description: 'lifetime of the presigned URL that /d/<token> redirects to' }),
  RENEW_TOKEN_TTL_SECONDS: Type.Integer({ minimum: 3600, maximum: 31536000, default: 7776000, description: 'how long the "get a fresh link" link in an email works (default 90 days)' }),
  CONFIRM_TOKEN_TTL_SECONDS: Type.Integer({ minimum: 3600, maximum: 31536000, default: 2592000, description: 'how long the "confirm your subscription" link works (default 30 days)' }),
  TOKEN_SECRET: Type.Optional(Type.String({ minLength: 32, description: 'secret(s) for signed links, comma-separated: the first signs, all verify; required in production' })),
  ADMIN_TOKEN: Type.Optional(Type.String({ minLength: 16, description: 'enables /admin; unset keeps it off' })),
  ADMIN_SESSION_SECONDS: Type.Integer({ minimum: 300, maximum: 604800, default: 28800, description: 'how long an /admin login lasts (default 8 hours)' }),
  // A browser POST upload to S3 takes at most 5 GB: https://docs.aws.amazon.com/AmazonS3/latest/API/RESTObjectPOST.html
  ADMIN_UPLOAD_MAX_BYTES: Type.Integer({ minimum: 1024, maximum: 5368709120, default: 104857600, description: 'largest whitepaper PDF accepted from /admin uploads and `whitepaper publish` (default 100 MB)' }),
  RATE_LIMIT_PER_IP_PER_MINUTE: Seconds(10, 'signups per client IP per minute (0 turns it off)'),
  ADDRESS_COOLDOWN_SECONDS: Seconds(300, 'minimum seconds between two emails to one address (0 turns it off)'),
  ADDRESS_MAX_EMAILS: Type.Integer({ minimum: 0, maximum: 1000, default: 3, description: 'emails an address that has not confirmed gets per ADDRESS_WINDOW_DAYS, whatever the IPs (0 turns the cap off)' }),
  ADDRESS_WINDOW_DAYS: Type.Integer({ minimum: 1, maximum: 365, default: 30, description: 'the window of ADDRESS_MAX_EMAILS, and how often an unsubscribed address may be mailed again after a new form submission' }),
  FORM_ORIGINS: Type.String({ default: '', description: 'comma-separated origins (https://www.example.com) whose pages may post the form or frame /embed/<slug>; PUBLIC_URL\'s origin is always allowed' }),
  BOT_MIN_FILL_SECONDS: Seconds(2, 'forms submitted faster than this are treated as bots (0 turns it off)'),
  CAPTCHA: Type.Union([Type.Literal('off'), Type.Literal('altcha')], { default: 'off', description: 'proof-of-work challenge on the form' }),
  SES_MAX_SEND_RATE: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'emails per second; overrides the SES account quota' })),
  RATE_LIMIT_REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://', description: 'Redis shared by all instances for the per-IP rate limits (default: each instance counts alone)' })),
  TRUST_PROXY: Type.String({ default: 'off', description: 'off, or comma-separated addresses/CIDRs (or loopback, linklocal, uniquelocal) of the proxies whose X-Forwarded-For is believed' }),
  SNS_TOPIC_ARNS: Type.String({ default: '', pattern: '^(arn:aws[a-z-]*:sns:[a-z0-9-]+:\\d{12}:[A-Za-z0-9_-]{1,256}(\\s*,\\s*)?)*$', description: 'SNS topics whose SES bounce/complaint notifications POST /webhooks/ses accepts (comma-separated; empty turns the webhook off)' }),
  SES_TEMPLATES: Type.Union([Type.Literal('on'), Type.Literal('off')], { default: 'on', description: 'store the email as an SES template and send only its data (off: send the whole email each time)' }),
  SENDER: Type.Union([Type.Literal('on'), Type.Literal('off')], { default: 'on', description: 'run the background sender in this process (off: accept signups only, e.g. on Lambda)' }),
  SEND_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 200, default: 16, description: 'SES calls in flight at once per instance (the rate limit still applies)' }),
  SEND_MAX_ATTEMPTS: Type.Integer({ minimum: 1, maximum: 50, default: 8, description: 'attempts per email on throttling, 5xx or network errors before giving up' }),
  OUTBOX_LEASE_SECONDS: Type.Number({ minimum: 1, maximum: 3600, default: 30, description: 'how long an instance owns an outbox batch before others may claim it' }),
  OUTBOX_SCAN_SECONDS: Type.Number({ minimum: 0.1, maximum: 3600, default: 5, description: 'how often the outbox is scanned for batches whose lease ran out' }),
  SHUTDOWN_GRACE_SECONDS: Type.Number({ minimum: 0, maximum: 600, default: 10, description: 'on SIGTERM: time for in-flight requests and sends to finish' }),
  INSTANCE_NAME: Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$', default: 'leadlink', description: 'prefix of this instance\'s id in outbox leases and logs' }),
  CATALOG_REFRESH_SECONDS: Seconds(30, 'how often running instances re-read the current whitepaper', 3600),
  BODY_LIMIT_BYTES: Type.Integer({ minimum: 1024, maximum: 1048576, default: 16384, description: 'largest accepted request body' }),
  METRICS_ENABLED: Type.Boolean({ default: true, description: 'collect Prometheus metrics and time every route' }),
  METRICS_PORT: Port(9464, 'port of the separate /metrics listener (0 turns it off); never the public port'),
  METRICS_HOST: Type.String({ minLength: 1, default: '127.0.0.1', description: 'interface of the /metrics listener (loopback unless a scraper needs another)' }),
  METRICS_TOKEN: Type.Optional(Type.String({ minLength: 32, description: 'bearer token that also serves /metrics on the public port (unset: the public port answers 404)' })),
  ADMIN_LOGIN_MAX_FAILURES: Type.Integer({ minimum: 1, maximum: 1000, default: 10, description: 'failed /admin logins per client IP per 15 minutes before further attempts wait (successful logins are not counted)' }),
  READY_TIMEOUT_MS: Type.Integer({ minimum: 100, maximum: 30000, default: 2000, description: 'how long each /readyz check (S3, SES, …) may take before it counts as failed' }),
  LOCAL_S3_PORT: Port(4569, 'local mode: S3 emulator port'),
  LOCAL_SES_PORT: Port(8005, 'local mode: SES emulator port'),
  LOCAL_DATA_DIR: Type.String({ minLength: 1, default: '.data', description: 'local mode: where emulated S3 keeps its data' })
})

export type Env = Static<typeof EnvSchema>

export class ConfigError extends Error {
  readonly code = 'invalid_config'
  readonly problems: string[]
  constructor (problems: string[]) {
    super(`Invalid configuration:\n${problems.map(p => `  - ${p}`).join('\n')}`)
    this.problems = problems
  }
}

/**
 * The environment's strings as settings: numbers and booleans converted, defaults filled in, and one
 * problem per bad setting. Each setting is checked on its own: TypeBox stops collecting errors after
 * a few (8) per call, and every problem must be named at once.
 */
function validateEnv (data: Record<string, string>, problems: string[]): Env | undefined {
  const candidate = Value.Convert(EnvSchema, Value.Default(EnvSchema, { ...data })) as Record<string, unknown>
  // Convert is lenient where a setting must not be: "3.5" would become the integer 3, "true" the number 1.
  for (const [name, raw] of Object.entries(data)) {
    const { type } = EnvSchema.properties[name as keyof Env] as TSchema & { type?: string }
    const number = Number(raw)
    if ((type === 'integer' && !Number.isInteger(number)) || (type === 'number' && !Number.isFinite(number))) candidate[name] = raw
  }
  if (Value.Check(EnvSchema, candidate)) return candidate as Env
  for (const [name, schema] of Object.entries(EnvSchema.properties)) {
    if (candidate[name] === undefined) continue
    const errors = Value.Errors(schema, candidate[name])
    if (errors.length > 0) problems.push(`${name} ${describeProblem(errors)}`)
  }
  return undefined
}

/** 127.0.0.0/8, ::1 and localhost: plain http is fine where nothing crosses a network. */
export function isLoopbackHost (hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname)
}

/**
 * Why a secret is too weak, or undefined. The estimate is the usual one (length × log2 of the
 * character classes used); a secret made of few distinct characters ("aaaa…", "abab…") is refused
 * whatever its length, since the estimate would flatter it.
 */
export function secretWeakness (secret: string): string | undefined {
  const distinct = new Set(secret).size
  if (distinct < Math.min(secret.length, 16) / 2) return 'repeats too few characters to be secret'
  let pool = 0
  if (/[a-z]/.test(secret)) pool += 26
  if (/[A-Z]/.test(secret)) pool += 26
  if (/[0-9]/.test(secret)) pool += 10
  if (/[^a-zA-Z0-9]/.test(secret)) pool += 33
  const bits = Math.floor(secret.length * Math.log2(Math.max(pool, 2)))
  return bits < 128 ? `has about ${bits} bits of entropy (at least 128 needed)` : undefined
}

const REQUIRED_IN_PRODUCTION = ['S3_BUCKET', 'SES_FROM', 'PUBLIC_URL', 'TOKEN_SECRET'] as const

export interface LoadOptions {
  /** server: everything the service needs; catalog: commands that only touch the bucket (the CLI) */
  role?: 'server' | 'catalog'
}

const list = (value: string | undefined): string[] => (value ?? '').split(',').map(s => s.trim()).filter(Boolean)

/** Settings that depend on each other, and on whether this is production. */
function checkTogether (data: Record<string, string>, role: 'server' | 'catalog', tokenSecrets: string[], problems: string[]): void {
  if (data.NODE_ENV === 'production') {
    for (const name of role === 'server' ? REQUIRED_IN_PRODUCTION : ['S3_BUCKET'] as const) {
      if (data[name] === undefined) problems.push(`${name} is required when NODE_ENV=production`)
    }
  } else if (data.S3_BUCKET !== undefined && role === 'server') {
    // Local mode makes its own token secret; a real bucket needs a real one.
    for (const name of ['SES_FROM', 'TOKEN_SECRET'] as const) {
      if (data[name] === undefined) problems.push(`${name} is required when S3_BUCKET is set`)
    }
  }
  if (tokenSecrets.some(s => s.length < 32)) {
    problems.push('TOKEN_SECRET each comma-separated secret must be at least 32 characters')
  }
  if (data.NODE_ENV === 'production') {
    // A guessable secret forges every link and session: refuse it where it matters.
    const secrets: Array<[string, string | undefined]> = [
      ...tokenSecrets.map((s, i): [string, string] => [tokenSecrets.length > 1 ? `TOKEN_SECRET (secret ${i + 1})` : 'TOKEN_SECRET', s]),
      ['ADMIN_TOKEN', data.ADMIN_TOKEN],
      ['METRICS_TOKEN', data.METRICS_TOKEN]
    ]
    for (const [name, value] of secrets) {
      const weakness = value === undefined ? undefined : secretWeakness(value)
      if (weakness) problems.push(`${name} ${weakness}: make one with \`openssl rand -base64 32\``)
    }
    const url = data.PUBLIC_URL
    if (url !== undefined && URL.canParse(url) && new URL(url).protocol !== 'https:' && !isLoopbackHost(new URL(url).hostname)) {
      problems.push('PUBLIC_URL must be https:// in production (the admin cookie is Secure and HSTS is sent only over https); only loopback hosts may use http://')
    }
  }
  for (const name of ['PUBLIC_URL', 'S3_ENDPOINT', 'SES_ENDPOINT'] as const) {
    const value = data[name]
    if (value !== undefined && !URL.canParse(value)) problems.push(`${name} must be an http(s) URL`)
  }
}

/** FORM_ORIGINS as origins (https://host:port), each entry that is not one named. */
function formOriginsOf (value: string | undefined, problems: string[]): string[] {
  const origins: string[] = []
  for (const entry of list(value)) {
    if (!URL.canParse(entry) || !/^https?:$/.test(new URL(entry).protocol) || new URL(entry).origin !== entry.replace(/\/$/, '')) {
      problems.push(`FORM_ORIGINS entries must be origins like https://www.example.com (scheme, host and port only): "${entry.slice(0, 80)}"`)
    } else origins.push(new URL(entry).origin)
  }
  return origins
}

/** TRUST_PROXY as Fastify's trustProxy: the proxies' addresses, or false (off). */
function trustProxyOf (value: string | undefined, problems: string[]): string[] | false {
  if (value === undefined || value === 'off') return false
  if (/^\d+$/.test(value.trim())) {
    // A hop count cannot tell a proxy from a client sending its own X-Forwarded-For: Fastify
    // ignores it (fails closed), which would silently give every visitor the proxy's IP.
    problems.push('TRUST_PROXY must list the proxies\' addresses or CIDRs, not a hop count (a hop count cannot be verified)')
  } else if (!value.split(',').map(e => e.trim()).every(e => /^(loopback|linklocal|uniquelocal|[0-9a-fA-F.:]+(\/\d{1,3})?)$/.test(e))) {
    problems.push('TRUST_PROXY must be off, or comma-separated addresses/CIDRs (or loopback, linklocal, uniquelocal)')
  }
  return list(value)
}

const ms = (seconds: number): number => Math.round(seconds * 1000)

/** The settings as the code uses them: grouped by what they configure, durations in ms, lists split. */
function nest (env: Env, lists: { tokenSecrets: string[], formOrigins: string[], trustProxy: string[] | false }) {
  const publicUrl = (env.PUBLIC_URL ?? `http://localhost:${env.PORT}`).replace(/\/+$/, '')
  return {
    /** local: emulators in-process; aws: real (or configured) endpoints */
    mode: env.S3_BUCKET === undefined ? 'local' as const : 'aws' as const,
    /** the validated environment by its own names: for reconfigure(), messages naming a setting, tests */
    env,
    http: {
      port: env.PORT,
      host: env.HOST,
      /** PUBLIC_URL without a trailing slash (outside production it defaults to http://localhost:PORT) */
      publicUrl,
      bodyLimitBytes: env.BODY_LIMIT_BYTES,
      /** Fastify's trustProxy: the proxies whose X-Forwarded-For is believed, or false */
      trustProxy: lists.trustProxy,
      /** origins whose pages may post the form or frame /embed (PUBLIC_URL's first, then FORM_ORIGINS) */
      formOrigins: [...new Set([new URL(publicUrl).origin, ...lists.formOrigins])]
    },
    aws: {
      region: env.AWS_REGION,
      s3: { bucket: env.S3_BUCKET ?? 'leadlink-local', endpoint: env.S3_ENDPOINT, forcePathStyle: env.S3_FORCE_PATH_STYLE },
      ses: {
        endpoint: env.SES_ENDPOINT,
        from: env.SES_FROM ?? 'leadlink <hello@leadlink.local>',
        configurationSet: env.SES_CONFIGURATION_SET,
        /** emails per second instead of the account's quota */
        maxSendRate: env.SES_MAX_SEND_RATE,
        /** the email is stored as an SES template and each send carries only its data */
        templates: env.SES_TEMPLATES === 'on'
      }
    },
    links: {
      ttlSeconds: env.LINK_TTL_SECONDS,
      freshTtlSeconds: env.FRESH_LINK_TTL_SECONDS,
      renewTtlSeconds: env.RENEW_TOKEN_TTL_SECONDS,
      confirmTtlSeconds: env.CONFIRM_TOKEN_TTL_SECONDS,
      /** the first signs, all verify (rotation); empty only in local mode before its stack makes one */
      tokenSecrets: lists.tokenSecrets
    },
    signup: {
      /** 0: off */
      cooldownMs: ms(env.ADDRESS_COOLDOWN_SECONDS),
      maxEmails: env.ADDRESS_MAX_EMAILS,
      windowDays: env.ADDRESS_WINDOW_DAYS,
      /** 0: off */
      botMinFillMs: ms(env.BOT_MIN_FILL_SECONDS),
      captcha: env.CAPTCHA
    },
    rateLimit: {
      /** 0: off */
      perIpPerMinute: env.RATE_LIMIT_PER_IP_PER_MINUTE,
      /** shared by every instance; unset: each counts alone */
      redisUrl: env.RATE_LIMIT_REDIS_URL
    },
    outbox: {
      /** this process runs the background sender */
      sender: env.SENDER === 'on',
      concurrency: env.SEND_CONCURRENCY,
      maxAttempts: env.SEND_MAX_ATTEMPTS,
      leaseMs: ms(env.OUTBOX_LEASE_SECONDS),
      scanIntervalMs: ms(env.OUTBOX_SCAN_SECONDS),
      shutdownGraceMs: ms(env.SHUTDOWN_GRACE_SECONDS),
      instanceName: env.INSTANCE_NAME
    },
    catalog: { refreshMs: ms(env.CATALOG_REFRESH_SECONDS) },
    admin: {
      /** unset: no /admin */
      token: env.ADMIN_TOKEN,
      sessionSeconds: env.ADMIN_SESSION_SECONDS,
      uploadMaxBytes: env.ADMIN_UPLOAD_MAX_BYTES,
      loginMaxFailures: env.ADMIN_LOGIN_MAX_FAILURES
    },
    metrics: {
      enabled: env.METRICS_ENABLED,
      /** the separate listener's; 0: none */
      port: env.METRICS_PORT,
      host: env.METRICS_HOST,
      /** bearer that also serves /metrics on the public port */
      token: env.METRICS_TOKEN
    },
    /** empty: no /webhooks/ses */
    webhook: { snsTopicArns: list(env.SNS_TOPIC_ARNS) },
    email: { subject: env.EMAIL_SUBJECT },
    log: { level: env.LOG_LEVEL },
    readiness: { timeoutMs: env.READY_TIMEOUT_MS },
    local: { s3Port: env.LOCAL_S3_PORT, sesPort: env.LOCAL_SES_PORT, dataDir: env.LOCAL_DATA_DIR }
  }
}

export type Config = ReturnType<typeof nest>

/**
 * Reads and validates settings. In production every AWS setting is required; elsewhere a
 * missing S3_BUCKET selects local mode, whose emulator settings are filled in by the local stack.
 */
export function loadConfig (source: Record<string, string | undefined>, options: LoadOptions = {}): Config {
  const data: Record<string, string> = {}
  for (const [key, value] of Object.entries(source)) {
    if (key in EnvSchema.properties && value !== undefined && value !== '') data[key] = value
  }
  const problems: string[] = []
  const env = validateEnv(data, problems)
  const tokenSecrets = list(data.TOKEN_SECRET)
  checkTogether(data, options.role ?? 'server', tokenSecrets, problems)
  const formOrigins = formOriginsOf(data.FORM_ORIGINS, problems)
  const trustProxy = trustProxyOf(data.TRUST_PROXY, problems)
  if (problems.length > 0 || env === undefined) throw new ConfigError(problems)
  return nest(env, { tokenSecrets, formOrigins, trustProxy })
}

/**
 * The same settings with some changed, given as the environment gives them (names and strings; undefined
 * unsets one), and validated again from the start: local mode pointing the clients at its emulators,
 * a test changing one setting.
 */
export function reconfigure (config: Config, overrides: Record<string, string | undefined>, options: LoadOptions = {}): Config {
  const source: Record<string, string | undefined> = {}
  for (const [name, value] of Object.entries(config.env)) source[name] = value === undefined ? undefined : String(value)
  return loadConfig({ ...source, ...overrides }, options)
}
