import t from 'tap'
import { ConfigError, loadConfig } from '../src/config.ts'

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
  t.equal(config.PORT, 3000)
  t.equal(config.LINK_TTL_SECONDS, 604800)
  t.equal(config.publicUrl, 'http://localhost:3000')
  t.equal(config.LOCAL_S3_PORT, 4569)
  t.equal(config.LOCAL_SES_PORT, 8005)
  t.equal(config.LOCAL_DATA_DIR, '.data')
  t.equal(config.CAPTCHA, 'off')
  t.equal(config.TRUST_PROXY, 'off')
})

t.test('a bucket selects AWS mode and values are coerced', async t => {
  const config = loadConfig({
    S3_BUCKET: 'my-bucket', SES_FROM: 'Acme <hi@acme.com>', TOKEN_SECRET: 'x'.repeat(32), PORT: '8080', S3_FORCE_PATH_STYLE: 'true', LINK_TTL_SECONDS: '3600', PUBLIC_URL: 'https://acme.com/'
  })
  t.equal(config.mode, 'aws')
  t.equal(config.PORT, 8080)
  t.equal(config.S3_FORCE_PATH_STYLE, true)
  t.equal(config.LINK_TTL_SECONDS, 3600)
  t.equal(config.publicUrl, 'https://acme.com', 'trailing slash removed')
  t.equal(config.sesFrom, 'Acme <hi@acme.com>')
})

t.test('production never falls back to local mode: every missing setting is named at once', async t => {
  const problems = problemsOf({ NODE_ENV: 'production' })
  t.same(problems, [
    'S3_BUCKET is required when NODE_ENV=production',
    'SES_FROM is required when NODE_ENV=production',
    'PUBLIC_URL is required when NODE_ENV=production',
    'TOKEN_SECRET is required when NODE_ENV=production'
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

t.test('a bucket without a sender or token secret is refused outside production too', async t => {
  t.same(problemsOf({ S3_BUCKET: 'my-bucket' }), ['SES_FROM is required when S3_BUCKET is set', 'TOKEN_SECRET is required when S3_BUCKET is set'])
})

t.test('token secrets: a comma-separated list, each long enough', async t => {
  const a = 'a'.repeat(32)
  const b = 'b'.repeat(40)
  t.same(loadConfig({ TOKEN_SECRET: `${a}, ${b}` }).tokenSecrets, [a, b])
  t.ok(problemsOf({ TOKEN_SECRET: `${a},short` }).some(p => p.startsWith('TOKEN_SECRET')))
})

t.test('TRUST_PROXY accepts off or the proxies\' addresses, never a hop count', async t => {
  t.match(problemsOf({ TRUST_PROXY: '2' }), [/not a hop count/])
  t.equal(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }).TRUST_PROXY, '10.0.0.0/8, 127.0.0.1')
  t.equal(loadConfig({ TRUST_PROXY: 'loopback,uniquelocal' }).TRUST_PROXY, 'loopback,uniquelocal')
  t.ok(problemsOf({ TRUST_PROXY: 'yes please' }).some(p => p.startsWith('TRUST_PROXY')))
})

t.test('unknown variables are ignored and empty ones count as unset', async t => {
  const config = loadConfig({ PATH: '/usr/bin', S3_BUCKET: '', PORT: '' })
  t.equal(config.mode, 'local')
  t.equal(config.PORT, 3000)
})

const GOOD_SECRET = 'Zq3v9Tn0c7LpXw2Rk5Hm8YbJf1Ds4Ge6'
const PRODUCTION = { NODE_ENV: 'production', S3_BUCKET: 'my-bucket', SES_FROM: 'hi@acme.com', PUBLIC_URL: 'https://acme.com', TOKEN_SECRET: GOOD_SECRET }

t.test('production refuses guessable secrets, with a line saying how to make a good one', async t => {
  t.same(problemsOf(PRODUCTION), [], 'a random secret passes')
  const weak: Array<[string, Record<string, string>, RegExp]> = [
    ['TOKEN_SECRET of one repeated character', { TOKEN_SECRET: 'a'.repeat(32) }, /^TOKEN_SECRET repeats too few characters to be secret: make one with `openssl rand -base64 32`$/],
    ['TOKEN_SECRET alternating two characters', { TOKEN_SECRET: 'ab'.repeat(24) }, /^TOKEN_SECRET repeats too few/],
    ['ADMIN_TOKEN of 16 × a', { ADMIN_TOKEN: 'a'.repeat(16) }, /^ADMIN_TOKEN repeats too few/],
    ['ADMIN_TOKEN of 16 random characters (about 95 bits)', { ADMIN_TOKEN: 'Zq3v9Tn0c7LpXw2R' }, /^ADMIN_TOKEN has about 95 bits of entropy \(at least 128 needed\): make one with `openssl rand -base64 32`$/],
    ['METRICS_TOKEN of one character', { METRICS_TOKEN: 'x'.repeat(40) }, /^METRICS_TOKEN repeats too few/],
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
  t.same(loadConfig({ ...PRODUCTION, FORM_ORIGINS: 'https://www.acme.com, https://blog.acme.com:8443' }).formOrigins, ['https://acme.com', 'https://www.acme.com', 'https://blog.acme.com:8443'])
  t.same(loadConfig(PRODUCTION).formOrigins, ['https://acme.com'])
  for (const bad of ['https://www.acme.com/form', 'www.acme.com', 'ftp://acme.com', 'https://acme.com?x=1']) {
    t.match(problemsOf({ ...PRODUCTION, FORM_ORIGINS: bad }), [/^FORM_ORIGINS entries must be origins/], bad)
  }
})
