// Configuration: the one place that reads the environment; boot fails with every problem listed.
import type { TSchema } from 'typebox'
import { Value } from 'typebox/value'
import { describeProblem } from './schema/problem.ts'
import { EnvSchema, type Env } from './env-schema.ts'

export { EnvSchema, MAX_LINK_TTL_SECONDS, type Env } from './env-schema.ts'


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

const REQUIRED_IN_PRODUCTION = ['S3_BUCKET', 'SES_FROM', 'PUBLIC_URL', 'TOKEN_SECRET', 'ADDRESS_KEY'] as const

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
    // Local mode makes its own token secret and address key; a real bucket needs real ones.
    for (const name of ['SES_FROM', 'TOKEN_SECRET', 'ADDRESS_KEY'] as const) {
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
      ['ADDRESS_KEY', data.ADDRESS_KEY],
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
      /** sockets sharing PORT (src/http/listen.ts) */
      listenSockets: env.LISTEN_SOCKETS,
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
      /** HTTP requests in flight from which the sender slows to a quarter of its pace (0: never) */
      yieldRequests: env.SEND_YIELD_REQUESTS,
      maxAttempts: env.SEND_MAX_ATTEMPTS,
      leaseMs: ms(env.OUTBOX_LEASE_SECONDS),
      scanIntervalMs: ms(env.OUTBOX_SCAN_SECONDS),
      shutdownGraceMs: ms(env.SHUTDOWN_GRACE_SECONDS),
      instanceName: env.INSTANCE_NAME,
      /** how often a sender writes its heartbeat object (the live senders share the rate) */
      heartbeatMs: ms(env.SEND_HEARTBEAT_SECONDS)
    },
    funnel: { flushMs: ms(env.FUNNEL_FLUSH_SECONDS) },
    privacy: {
      /** HMAC key of record keys; undefined only in local mode before its stack makes one */
      addressKey: env.ADDRESS_KEY,
      pendingRetentionDays: env.PENDING_RETENTION_DAYS,
      unsubscribedRetentionDays: env.UNSUBSCRIBED_RETENTION_DAYS,
      /** 0: the service does not sweep (the command still does) */
      sweepIntervalMs: ms(env.RETENTION_SWEEP_SECONDS),
      recordSignupIp: env.RECORD_SIGNUP_IP
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
