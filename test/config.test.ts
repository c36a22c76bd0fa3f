// The settings: one TypeBox schema of the environment, every problem named at once, then the nested
// config the code reads (durations in ms, lists split) and reconfigure() for changed settings.
import t from 'tap'
import { ConfigError, loadConfig, reconfigure } from '../src/config.ts'
import { childEnv, runNode } from './process/child.ts'

function problemsOf (env: Record<string, string>): string[] {
  try {
    loadConfig(env)
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  return []
}

t.test('defaults select local mode outside production', async t => {
  const config = loadConfig({})
  t.equal(config.mode, 'local')
  t.equal(config.http.port, 3000)
  t.equal(config.links.ttlSeconds, 604800)
  t.equal(config.http.publicUrl, 'http://localhost:3000')
  t.same(config.local, { s3Port: 4569, sesPort: 8005, dataDir: '.data' })
  t.equal(config.signup.captcha, 'off')
  t.equal(config.http.trustProxy, false, 'TRUST_PROXY off')
  t.equal(config.env.TRUST_PROXY, 'off', 'the environment as validated, defaults filled in')
})

t.test('a bucket selects AWS mode and values are coerced', async t => {
  const config = loadConfig({
    S3_BUCKET: 'my-bucket', SES_FROM: 'Acme <hi@acme.com>', TOKEN_SECRET: 'x'.repeat(32), ADDRESS_KEY: 'k'.repeat(32), PORT: '8080', S3_FORCE_PATH_STYLE: 'true', LINK_TTL_SECONDS: '3600', PUBLIC_URL: 'https://acme.com/'
  })
  t.equal(config.mode, 'aws')
  t.equal(config.http.port, 8080)
  t.equal(config.aws.s3.forcePathStyle, true)
  t.equal(config.aws.s3.bucket, 'my-bucket')
  t.equal(config.links.ttlSeconds, 3600)
  t.equal(config.http.publicUrl, 'https://acme.com', 'trailing slash removed')
  t.equal(config.aws.ses.from, 'Acme <hi@acme.com>')
})

t.test('production never falls back to local mode: every missing setting is named at once', async t => {
  const problems = problemsOf({ NODE_ENV: 'production' })
  t.same(problems, [
    'S3_BUCKET is required when NODE_ENV=production',
    'SES_FROM is required when NODE_ENV=production',
    'PUBLIC_URL is required when NODE_ENV=production',
    'TOKEN_SECRET is required when NODE_ENV=production',
    'ADDRESS_KEY is required when NODE_ENV=production'
  ])
})

t.test('invalid values and missing settings are reported together', async t => {
  const problems = problemsOf({
    NODE_ENV: 'production', PORT: 'abc', LINK_TTL_SECONDS: '999999', CAPTCHA: 'maybe', S3_BUCKET: 'Bad_Bucket', PUBLIC_URL: 'ftp://x'
  })
  t.ok(problems.some(p => p.startsWith('PORT ')), 'PORT')
  t.ok(problems.some(p => p.startsWith('LINK_TTL_SECONDS must be <= 604800')), 'LINK_TTL_SECONDS')
  t.ok(problems.some(p => p.startsWith('CAPTCHA ')), 'CAPTCHA')
  t.ok(problems.some(p => p.startsWith('S3_BUCKET ')), 'S3_BUCKET pattern')
  t.ok(problems.some(p => p.startsWith('PUBLIC_URL ')), 'PUBLIC_URL')
  t.ok(problems.includes('SES_FROM is required when NODE_ENV=production'))
  t.ok(problems.includes('TOKEN_SECRET is required when NODE_ENV=production'))
})

t.test('the error message lists each problem on its own line', async t => {
  try {
    loadConfig({ NODE_ENV: 'production' })
    t.fail('should throw')
  } catch (err) {
    t.match((err as Error).message, /Invalid configuration:\n {2}- S3_BUCKET[^\n]*\n {2}- SES_FROM/)
  }
})

t.test('a bucket without a sender, token secret or address key is refused outside production too', async t => {
  t.same(problemsOf({ S3_BUCKET: 'my-bucket' }), ['SES_FROM is required when S3_BUCKET is set', 'TOKEN_SECRET is required when S3_BUCKET is set', 'ADDRESS_KEY is required when S3_BUCKET is set'])
})

t.test('token secrets: a comma-separated list, each long enough', async t => {
  const a = 'a'.repeat(32)
  const b = 'b'.repeat(40)
  t.same(loadConfig({ TOKEN_SECRET: `${a}, ${b}` }).links.tokenSecrets, [a, b])
  t.ok(problemsOf({ TOKEN_SECRET: `${a},short` }).some(p => p.startsWith('TOKEN_SECRET')))
})

t.test('TRUST_PROXY accepts off or the proxies\' addresses, never a hop count', async t => {
  t.match(problemsOf({ TRUST_PROXY: '2' }), [/not a hop count/])
  t.same(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }).http.trustProxy, ['10.0.0.0/8', '127.0.0.1'])
  t.same(loadConfig({ TRUST_PROXY: 'loopback,uniquelocal' }).http.trustProxy, ['loopback', 'uniquelocal'])
  t.ok(problemsOf({ TRUST_PROXY: 'yes please' }).some(p => p.startsWith('TRUST_PROXY')))
})

t.test('unknown variables are ignored and empty ones count as unset', async t => {
  const config = loadConfig({ PATH: '/usr/bin', S3_BUCKET: '', PORT: '' })
  t.equal(config.mode, 'local')
  t.equal(config.http.port, 3000)
})

const GOOD_SECRET = 'Zq3v9Tn0c7LpXw2Rk5Hm8YbJf1Ds4Ge6'
const PRODUCTION = { NODE_ENV: 'production', S3_BUCKET: 'my-bucket', SES_FROM: 'hi@acme.com', PUBLIC_URL: 'https://acme.com', TOKEN_SECRET: GOOD_SECRET, ADDRESS_KEY: 'Hb7Kq2Lm9Xw4Rt8Vn3Cz6Pj1Fs5Dg0Ye' }

t.test('production refuses guessable secrets, with a line saying how to make a good one', async t => {
  t.same(problemsOf(PRODUCTION), [], 'a random secret passes')
  const weak: Array<[string, Record<string, string>, RegExp]> = [
    ['TOKEN_SECRET of one repeated character', { TOKEN_SECRET: 'a'.repeat(32) }, /^TOKEN_SECRET repeats too few characters to be secret: make one with `openssl rand -base64 32`$/],
    ['TOKEN_SECRET alternating two characters', { TOKEN_SECRET: 'ab'.repeat(24) }, /^TOKEN_SECRET repeats too few/],
    ['ADMIN_TOKEN of 16 × a', { ADMIN_TOKEN: 'a'.repeat(16) }, /^ADMIN_TOKEN repeats too few/],
    ['ADMIN_TOKEN of 16 random characters (about 95 bits)', { ADMIN_TOKEN: 'Zq3v9Tn0c7LpXw2R' }, /^ADMIN_TOKEN has about 95 bits of entropy \(at least 128 needed\): make one with `openssl rand -base64 32`$/],
    ['METRICS_TOKEN of one character', { METRICS_TOKEN: 'x'.repeat(40) }, /^METRICS_TOKEN repeats too few/],
    ['ADDRESS_KEY of one character', { ADDRESS_KEY: 'k'.repeat(32) }, /^ADDRESS_KEY repeats too few/],
    ['the second of two TOKEN_SECRETs', { TOKEN_SECRET: `${GOOD_SECRET},${'b'.repeat(32)}` }, /^TOKEN_SECRET \(secret 2\) repeats too few/]
  ]
  for (const [name, env, problem] of weak) {
    const problems = problemsOf({ ...PRODUCTION, ...env })
    t.equal(problems.length, 1, name)
    t.match(problems[0], problem, name)
  }
  t.same(problemsOf({ ...PRODUCTION, ADMIN_TOKEN: 'p7Kx2Qm9Vd4Ls8Hn3Bw6Rt1Yc5Zf0Ja' }), [], 'a 32-character random ADMIN_TOKEN passes')
  t.same(problemsOf({ ...PRODUCTION, NODE_ENV: 'test', TOKEN_SECRET: 'a'.repeat(32) }), [], 'outside production it is the operator\'s call')
})

t.test('production needs an https PUBLIC_URL, except on loopback', async t => {
  t.same(problemsOf({ ...PRODUCTION, PUBLIC_URL: 'http://acme.com' }),
    ['PUBLIC_URL must be https:// in production (the admin cookie is Secure and HSTS is sent only over https); only loopback hosts may use http://'])
  for (const url of ['http://localhost:3000', 'http://127.0.0.1:8080', 'http://[::1]:3000']) t.same(problemsOf({ ...PRODUCTION, PUBLIC_URL: url }), [], url)
})

t.test('FORM_ORIGINS: origins only, PUBLIC_URL\'s always first', async t => {
  t.same(loadConfig({ ...PRODUCTION, FORM_ORIGINS: 'https://www.acme.com, https://blog.acme.com:8443' }).http.formOrigins, ['https://acme.com', 'https://www.acme.com', 'https://blog.acme.com:8443'])
  t.same(loadConfig(PRODUCTION).http.formOrigins, ['https://acme.com'])
  for (const bad of ['https://www.acme.com/form', 'www.acme.com', 'ftp://acme.com', 'https://acme.com?x=1']) {
    t.match(problemsOf({ ...PRODUCTION, FORM_ORIGINS: bad }), [/^FORM_ORIGINS entries must be origins/], bad)
  }
})

t.test('durations the code counts in ms are converted once, lists are split once', async t => {
  const config = loadConfig({
    OUTBOX_LEASE_SECONDS: '2.5',
    OUTBOX_SCAN_SECONDS: '0.2',
    SHUTDOWN_GRACE_SECONDS: '7',
    CATALOG_REFRESH_SECONDS: '45',
    ADDRESS_COOLDOWN_SECONDS: '0',
    BOT_MIN_FILL_SECONDS: '3',
    SNS_TOPIC_ARNS: 'arn:aws:sns:eu-west-1:123456789012:bounces, arn:aws:sns:eu-west-1:123456789012:complaints'
  })
  t.same(config.outbox, { sender: true, concurrency: 16, yieldRequests: 16, maxAttempts: 8, leaseMs: 2500, scanIntervalMs: 200, shutdownGraceMs: 7000, instanceName: 'leadlink', heartbeatMs: 5000 })
  t.same(config.catalog, { refreshMs: 45_000 })
  t.equal(config.signup.cooldownMs, 0, '0 stays off')
  t.equal(config.signup.botMinFillMs, 3000)
  t.equal(config.readiness.timeoutMs, 2000)
  t.same(config.webhook.snsTopicArns, ['arn:aws:sns:eu-west-1:123456789012:bounces', 'arn:aws:sns:eu-west-1:123456789012:complaints'])
  t.same(loadConfig({}).webhook.snsTopicArns, [], 'unset: no webhook')
  t.equal(config.env.OUTBOX_LEASE_SECONDS, 2.5, 'env keeps the setting as given (converted to its type)')
})

t.test('every bad setting is named, however many (TypeBox alone stops after 8 errors)', async t => {
  const bad: Record<string, [string, string]> = {
    PORT: ['abc', 'PORT must be integer'],
    LINK_TTL_SECONDS: ['999999', 'LINK_TTL_SECONDS must be <= 604800'],
    CAPTCHA: ['maybe', 'CAPTCHA must be one of "off", "altcha"'],
    LOG_LEVEL: ['loud', 'LOG_LEVEL must be one of "fatal", "error", "warn", "info", "debug", "trace", "silent"'],
    S3_FORCE_PATH_STYLE: ['yes', 'S3_FORCE_PATH_STYLE must be boolean'],
    SES_MAX_SEND_RATE: ['0', 'SES_MAX_SEND_RATE must be > 0'],
    SEND_CONCURRENCY: ['0', 'SEND_CONCURRENCY must be >= 1'],
    SEND_MAX_ATTEMPTS: ['51', 'SEND_MAX_ATTEMPTS must be <= 50'],
    OUTBOX_LEASE_SECONDS: ['soon', 'OUTBOX_LEASE_SECONDS must be number'],
    INSTANCE_NAME: ['a b', 'INSTANCE_NAME must match pattern "^[A-Za-z0-9._-]{1,64}$"'],
    METRICS_ENABLED: ['maybe', 'METRICS_ENABLED must be boolean'],
    ADMIN_TOKEN: ['short', 'ADMIN_TOKEN must not have fewer than 16 characters']
  }
  const problems = problemsOf(Object.fromEntries(Object.entries(bad).map(([name, [value]]) => [name, value])))
  t.same([...problems].sort(), Object.values(bad).map(([, problem]) => problem).sort())
})

t.test('numbers are numbers: no silent truncation or booleans taken for 1', async t => {
  t.same(problemsOf({ PORT: '8080.5' }), ['PORT must be integer'], 'an integer setting refuses a fraction')
  t.same(problemsOf({ OUTBOX_LEASE_SECONDS: 'true' }), ['OUTBOX_LEASE_SECONDS must be number'])
  t.same(problemsOf({ SES_MAX_SEND_RATE: 'Infinity' }), ['SES_MAX_SEND_RATE must be number'])
  t.equal(loadConfig({ PORT: '8080', SES_MAX_SEND_RATE: '2.5', METRICS_ENABLED: 'false' }).metrics.enabled, false)
  t.equal(loadConfig({ SES_MAX_SEND_RATE: '2.5' }).aws.ses.maxSendRate, 2.5)
})

t.test('reconfigure: the same settings with some changed, validated again', async t => {
  const base = loadConfig({ ...PRODUCTION, RATE_LIMIT_PER_IP_PER_MINUTE: '10', FORM_ORIGINS: 'https://www.acme.com' })
  const changed = reconfigure(base, { RATE_LIMIT_PER_IP_PER_MINUTE: '3', OUTBOX_LEASE_SECONDS: '4' })
  t.equal(changed.rateLimit.perIpPerMinute, 3)
  t.equal(changed.outbox.leaseMs, 4000, 'converted like any other setting')
  t.same(changed.http.formOrigins, base.http.formOrigins, 'the rest as before')
  t.same(changed.links.tokenSecrets, base.links.tokenSecrets)
  t.equal(base.rateLimit.perIpPerMinute, 10, 'the original is untouched')
  t.equal(reconfigure(base, { ADMIN_TOKEN: undefined }).admin.token, undefined, 'undefined unsets a setting')
  t.throws(() => reconfigure(base, { PUBLIC_URL: 'http://acme.com' }), /PUBLIC_URL must be https:\/\/ in production/, 'production rules still apply')
  t.throws(() => reconfigure(base, { PORT: 'abc' }), /PORT must be integer/)
})

t.test('reading the config never loads Ajv (a fresh process)', async t => {
  const script = `import { createRequire } from 'node:module'
    const { loadConfig } = await import(${JSON.stringify(new URL('../src/config.ts', import.meta.url).href)})
    loadConfig({ NODE_ENV: 'test', S3_BUCKET: 'leadlink-test', SES_FROM: 'a@b.co', TOKEN_SECRET: 'x'.repeat(32), ADDRESS_KEY: 'k'.repeat(32) })
    try { loadConfig({ PORT: 'abc' }) } catch {}
    process.stdout.write(JSON.stringify(Object.keys(createRequire(import.meta.url).cache)))`
  const run = await runNode(t, ['--input-type=module', '-e', script], childEnv())
  t.equal(run.code, 0, run.stderr)
  t.same((JSON.parse(run.stdout) as string[]).filter(f => f.includes('/node_modules/ajv/')), [])
})
