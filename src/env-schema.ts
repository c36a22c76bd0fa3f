// The environment's schema: every setting, its type, default and description (the one schema;
// .env.example and the README's Configuration table follow it). src/config.ts validates and nests it.
import { Type, type Static } from 'typebox'

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
  LISTEN_SOCKETS: Type.Integer({ minimum: 1, maximum: 64, default: 16, description: 'sockets listening on PORT together (SO_REUSEPORT on Linux): Node accepts one new connection per socket per event-loop turn, so a burst of new visitors is accepted at once; 1 is one plain socket' }),
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
  SES_MAX_SEND_RATE: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'emails per second for the whole account, shared by every running sender; overrides the SES account quota' })),
  SEND_HEARTBEAT_SECONDS: Type.Number({ minimum: 1, maximum: 300, default: 5, description: 'how often each sender announces itself in S3, so that running senders share the account\'s rate between them' }),
  FUNNEL_FLUSH_SECONDS: Type.Number({ minimum: 1, maximum: 3600, default: 10, description: 'how often each instance adds its funnel counts (views, signups, SES events, clicks) to S3' }),
  PENDING_RETENTION_DAYS: Type.Integer({ minimum: 1, maximum: 3650, default: 30, description: 'signups never confirmed are erased this many days after their last email (a tombstone stays)' }),
  UNSUBSCRIBED_RETENTION_DAYS: Type.Integer({ minimum: 1, maximum: 3650, default: 365, description: 'unsubscribed signups are erased this many days after unsubscribing (a tombstone stays)' }),
  RETENTION_SWEEP_SECONDS: Seconds(3600, 'how often the service runs the retention sweep (one instance at a time, by lease; 0 turns it off, leaving `npm run signups -- sweep`)', 604800),
  ADDRESS_KEY: Type.Optional(Type.String({ minLength: 32, description: 'HMAC key of the address in record keys and tokens; required with S3_BUCKET (local mode keeps one in LOCAL_DATA_DIR)' })),
  RECORD_SIGNUP_IP: Type.Boolean({ default: true, description: 'keep the signup\'s IP address and user agent in the record as consent proof' }),
  RATE_LIMIT_REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://', description: 'Redis shared by all instances for the per-IP rate limits (default: each instance counts alone)' })),
  TRUST_PROXY: Type.String({ default: 'off', description: 'off, or comma-separated addresses/CIDRs (or loopback, linklocal, uniquelocal) of the proxies whose X-Forwarded-For is believed' }),
  SNS_TOPIC_ARNS: Type.String({ default: '', pattern: '^(arn:aws[a-z-]*:sns:[a-z0-9-]+:\\d{12}:[A-Za-z0-9_-]{1,256}(\\s*,\\s*)?)*$', description: 'SNS topics whose SES bounce/complaint notifications POST /webhooks/ses accepts (comma-separated; empty turns the webhook off)' }),
  SES_TEMPLATES: Type.Union([Type.Literal('on'), Type.Literal('off')], { default: 'on', description: 'store the email as an SES template and send only its data (off: send the whole email each time)' }),
  SENDER: Type.Union([Type.Literal('on'), Type.Literal('off')], { default: 'on', description: 'run the background sender in this process (off: accept signups only, e.g. on Lambda)' }),
  SEND_CONCURRENCY: Type.Integer({ minimum: 1, maximum: 200, default: 16, description: 'SES calls in flight at once per instance (the rate limit still applies)' }),
  SEND_YIELD_REQUESTS: Type.Integer({ minimum: 0, maximum: 10000, default: 16, description: 'while this many HTTP requests are in flight (a campaign burst), the sender goes at a quarter of its pace so that visitors are answered first; 0 turns it off' }),
  SEND_MAX_ATTEMPTS: Type.Integer({ minimum: 1, maximum: 50, default: 8, description: 'attempts per email on throttling, 5xx or network errors before giving up' }),
  OUTBOX_LEASE_SECONDS: Type.Number({ minimum: 1, maximum: 3600, default: 30, description: 'how long an instance owns an outbox batch before others may claim it' }),
  OUTBOX_SCAN_SECONDS: Type.Number({ minimum: 0.1, maximum: 3600, default: 5, description: 'how often the outbox is scanned for batches whose lease ran out; a sender also renews the leases of the batches it holds then, so keep it under a third of OUTBOX_LEASE_SECONDS' }),
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
