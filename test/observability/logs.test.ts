// Logs: one JSON object per line, every request's lines carry its reqId, and neither the visitor's
// address nor a recipient link's signed token ever reaches them (signup, sender, rejection, fresh link).
import t from 'tap'
import { readFile } from 'node:fs/promises'
import { Writable } from 'node:stream'
import { pino } from 'pino'
import { buildApp } from '../../src/app.ts'
import { createTokenSigner, type Purpose } from '../../src/recipient-links/tokens.ts'
import { loggerOptions } from '../../src/logging.ts'
import { eventually, isolateNetwork, sentEmails, startEmulators, TEST_CREDENTIALS, testConfig } from '../helper.ts'
import { keyOf, mockPointer } from '../aws-mocks.ts'

const SAMPLE = await readFile(new URL('../../scripts/sample-whitepaper.pdf', import.meta.url))
const ADDRESS = 'Zoe.Private@Example.org'
const FORM = { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'Mozilla/5.0 (logs)' }

interface Line { reqId?: string, msg?: string, req?: { url?: string, id?: string }, res?: unknown, [key: string]: unknown }

t.test('request logs carry reqId and no address or token', async t => {
  isolateNetwork(t)
  const stack = await startEmulators(t, { CATALOG_REFRESH_SECONDS: '0', RATE_LIMIT_PER_IP_PER_MINUTE: '0' })
  let raw = ''
  const stream = new Writable({ write (chunk, _enc, cb) { raw += chunk.toString(); cb() } })
  const app = await buildApp(stack.config, { clientOptions: { credentials: stack.credentials } }, { logger: { ...loggerOptions('debug'), stream } })
  t.teardown(() => app.close())
  await app.catalog.publish({ bytes: SAMPLE, filename: 'Guide.pdf', title: 'The Guide' })

  const signup = await app.inject({ method: 'POST', url: '/subscribe', headers: FORM, payload: `email=${encodeURIComponent(ADDRESS)}` })
  t.equal(signup.statusCode, 303)
  const email = await eventually(async () => (await sentEmails(stack.sesUrl))[0])
  // An address SES would refuse, in JSON: a 422 whose body quotes nothing back into the log.
  const rejected = await app.inject({ method: 'POST', url: '/subscribe', headers: { 'content-type': 'application/json', accept: 'application/json' }, payload: JSON.stringify({ email: 'zoe.private@@example.org' }) })
  t.equal(rejected.statusCode, 422)
  const renew = new URL(email.body.text.match(/http:\/\/\S+\/d\/[A-Za-z0-9_-]+/)![0]).pathname
  const token = renew.slice(3)
  const fresh = await app.inject({ url: renew })
  t.equal(fresh.statusCode, 302)

  if (process.env.SHOW_LOGS) process.stderr.write(raw)
  const lines: Line[] = raw.trim().split('\n').map(l => JSON.parse(l) as Line)
  t.ok(lines.length > 6, `${lines.length} JSON lines`)

  // Every line about a request names it; the lines of one request share one id.
  const requestLines = lines.filter(l => l.req !== undefined || l.res !== undefined)
  t.ok(requestLines.length >= 6, 'incoming/completed lines for three requests')
  for (const line of requestLines) t.type(line.reqId, 'string', `${line.msg} has a reqId`)
  const incoming = lines.filter(l => l.msg === 'incoming request')
  t.same(incoming.map(l => l.req?.url), ['/subscribe', '/subscribe', '/d/[token]'], 'recipient-link URLs are logged with the token redacted')
  const ids = incoming.map(l => l.reqId)
  t.equal(new Set(ids).size, 3, 'each request has its own id')
  for (const id of ids) {
    const msgs = lines.filter(l => l.reqId === id).map(l => l.msg)
    t.ok(msgs.includes('request completed'), `request ${id} logs its completion under the same id`)
  }
  t.ok(lines.some(l => l.reqId === ids[1] && l.msg === 'request rejected' && l.code === 'email_invalid'), 'the rejection is logged with its code, under the request id')

  t.ok(lines.some(l => typeof l.addressHash === 'string'), 'addresses are referred to by a hash prefix')
  const text = raw.toLowerCase()
  t.notMatch(text, 'zoe', 'no part of the address')
  t.notMatch(text, 'example.org', 'not even its domain')
  t.notMatch(raw, token, 'no signed token')
  t.notMatch(raw, 'X-Amz-Signature', 'no presigned URL')
})

/** The log text holds no 16-character stretch of the token (not the whole, nor a useful part of it). */
function leaks (log: string, token: string): string[] {
  const found = new Set<string>()
  for (let i = 0; i + 16 <= token.length; i++) if (log.includes(token.slice(i, i + 16))) found.add(token.slice(i, i + 16))
  return [...found]
}

function capture () {
  const sink = { raw: '' }
  const stream = new Writable({ write (chunk, _enc, cb) { sink.raw += chunk.toString(); cb() } })
  return { sink, stream }
}

t.test('a token in a path is redacted in every line, whatever the method, route match or error', async t => {
  isolateNetwork(t)
  mockPointer()
  const { sink, stream } = capture()
  const config = testConfig()
  const app = await buildApp(config, { clientOptions: { credentials: TEST_CREDENTIALS } }, { logger: { ...loggerOptions('debug'), stream } })
  t.teardown(() => app.close())
  await app.ready()

  const signer = createTokenSigner(config.links.tokenSecrets)
  const token = (purpose: Purpose) => signer.sign({ purpose, addressHash: keyOf('zoe@example.org'), slug: 'default', expiresAt: purpose === 'unsubscribe' ? 0 : Math.floor(Date.now() / 1000) + 3600 })
  const cases: Array<{ method: 'GET' | 'PUT' | 'POST' | 'DELETE' | 'PATCH', prefix: string, purpose: Purpose, suffix: string, status: number, logged: string, router?: true }> = []
  for (const [prefix, purpose] of [['c', 'confirm'], ['u', 'unsubscribe'], ['d', 'renew']] as const) {
    cases.push(
      { method: 'GET', prefix, purpose, suffix: '/', status: 404, logged: `/${prefix}/[token]/` },
      { method: 'GET', prefix, purpose, suffix: '%', status: 400, logged: `/${prefix}/[token]`, router: true },
      { method: 'GET', prefix, purpose, suffix: '%E0%A4%A', status: 400, logged: `/${prefix}/[token]`, router: true },
      { method: 'PUT', prefix, purpose, suffix: '', status: 404, logged: `/${prefix}/[token]` },
      { method: 'DELETE', prefix, purpose, suffix: '?x=1', status: 404, logged: `/${prefix}/[token]` },
      { method: 'GET', prefix, purpose, suffix: '/?utm_source=mail', status: 404, logged: `/${prefix}/[token]/` },
      { method: 'GET', prefix, purpose, suffix: `?t=${token(purpose)}`, status: prefix === 'd' ? 302 : 200, logged: `/${prefix}/[token]` },
      { method: 'GET', prefix, purpose, suffix: 'x', status: 400, logged: `/${prefix}/[token]` },
      { method: 'PATCH', prefix, purpose, suffix: '/extra;x=1', status: 404, logged: `/${prefix}/[token]/extra;x=1` }
    )
  }
  // A path that reaches the route another way, and one past the router's parameter limit (414).
  cases.push({ method: 'GET', prefix: '%75', purpose: 'unsubscribe', suffix: '', status: 200, logged: '/%75/[token]' })
  cases.push({ method: 'GET', prefix: 'd', purpose: 'renew', suffix: 'A'.repeat(600), status: 414, logged: '/d/[token]', router: true })

  for (const c of cases) {
    const secret = token(c.purpose)
    const url = `/${c.prefix}/${secret}${c.suffix}`
    // GET /d/<valid token> mints a link (it reads the pointer): only the redirect matters here.
    if (c.status === 302) mockPointer()
    sink.raw = ''
    const res = await app.inject({ method: c.method, url, headers: { accept: 'application/json' } })
    const name = `${c.method} /${c.prefix}/<${c.purpose} token>${c.suffix.slice(0, 20)}`
    t.equal(res.statusCode, c.status, `${name}: ${c.status}`)
    // Fastify logs no completion for what its router refused (frameworkErrors): inject's answer is the end.
    if (!c.router) await eventually(() => sink.raw.includes('request completed') || undefined)
    const lines = sink.raw.trim().split('\n').map(l => JSON.parse(l) as Line)
    t.same(lines.filter(l => l.msg === 'incoming request').map(l => l.req?.url), [c.logged], `${name}: logged as ${c.logged}`)
    t.same(leaks(sink.raw, secret), [], `${name}: no part of the token in ${lines.length} lines`)
    t.notMatch(sink.raw, 'AAAAAAAAAAAAAAAA', `${name}: nor of the padding`)
  }
})

t.test('messages, errors and url fields that quote a path are redacted too', async t => {
  const { sink, stream } = capture()
  const log = pino(loggerOptions('info'), stream)
  const secret = createTokenSigner(testConfig().links.tokenSecrets).sign({ purpose: 'unsubscribe', addressHash: keyOf('zoe@example.org'), slug: 'default', expiresAt: 0 })
  // What Fastify's default 404 handler, its router (FST_ERR_BAD_URL) and any `url` field would write.
  log.info(`Route PUT:/u/${secret}/ not found`)
  log.info({ err: Object.assign(new URIError(`'/u/${secret}%' is not a valid url component`), { code: 'FST_ERR_BAD_URL', path: `/u/${secret}%` }) }, 'request rejected')
  log.warn({ err: { message: `GET /c/${secret}?a=b failed` } }, 'not an Error')
  log.info({ url: `/d/${secret}?x=${secret}` }, 'a url field')
  log.info('%s was not found', `/%64/${secret}`)
  log.error({ err: new Error(`token ${secret.slice(5)} refused for zoe@example.org`) }, 'a token cut short, in an error')
  const lines = sink.raw.trim().split('\n').map(l => JSON.parse(l) as Line & { err?: { message?: string, path?: string } })
  t.equal(lines.length, 6)
  t.same(leaks(sink.raw, secret), [], 'no part of the token')
  t.notMatch(sink.raw, 'zoe', 'nor the address')
  t.equal(lines[0]?.msg, 'Route PUT:/u/[token]/ not found')
  t.equal(lines[1]?.err?.message, "'/u/[token]' is not a valid url component")
  t.equal(lines[1]?.err?.path, '/u/[token]')
  t.equal(lines[2]?.err?.message, 'GET /c/[token]?a=b failed')
  t.equal(lines[3]?.url, '/d/[token]', 'a url field keeps the path only')
  t.equal(lines[4]?.msg, '/%64/[token] was not found')
  t.equal(lines[5]?.err?.message, 'token [token] refused for [address]')
})
