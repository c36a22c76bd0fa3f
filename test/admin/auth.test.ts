// Admin authentication: off without ADMIN_TOKEN (404), the constant-time token check, the session
// cookie's flags, tampering, expiry, the server-side session record, CSRF on every write, log-out,
// the CSP of the pages, and the limit on failed log-ins.
import * as crypto from 'node:crypto'
import nock from 'nock'
import t from 'tap'
import { createAdminAuth } from '../../src/admin/auth.ts'
import { sessionKey } from '../../src/admin/sessions.ts'
import { build, BUCKET, isolateNetwork, S3_HOST, testConfig } from '../helper.ts'
import { pendingOtherThanSessions, sessionMocks } from './session-mocks.ts'

const TOKEN = 'admin-token-for-tests-0123456789'
const SECRETS = ['test-token-secret-0123456789abcdef0123456789']
const VERSION = '20260304T050607Z-1a2b3c4d'
const EMPTY_LIST = `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>${BUCKET}</Name><IsTruncated>false</IsTruncated></ListBucketResult>`

function adminConfig (overrides: Record<string, string> = {}) {
  // No sender: its outbox scan would take the ListObjectsV2 answers mocked for the catalog.
  return testConfig({ ADMIN_TOKEN: TOKEN, SENDER: 'off', ...overrides })
}

/** Logs in and returns the session cookie (name=value) and the page's CSRF token. */
async function login (app: Awaited<ReturnType<typeof build>>): Promise<{ cookie: string, csrf: string }> {
  const res = await app.inject({ method: 'POST', url: '/admin/login', payload: { token: TOKEN } })
  if (res.statusCode !== 303) throw new Error(`login answered ${res.statusCode}`)
  const cookie = String(res.headers['set-cookie']).split(';')[0] ?? ''
  nock(S3_HOST).get('/').query(true).reply(200, EMPTY_LIST, { 'Content-Type': 'application/xml' })
  const page = await app.inject({ url: '/admin', headers: { cookie } })
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? ''
  return { cookie, csrf }
}

t.test('the token check hashes both sides and compares them with timingSafeEqual', async t => {
  const calls: Array<[number, number]> = []
  const { safeEqual } = await t.mockImport<typeof import('../../src/admin/auth.ts')>('../../src/admin/auth.ts', {
    'node:crypto': {
      ...crypto,
      timingSafeEqual: (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => {
        calls.push([a.byteLength, b.byteLength])
        return crypto.timingSafeEqual(a, b)
      }
    }
  })
  t.equal(safeEqual(TOKEN, TOKEN), true)
  t.equal(safeEqual('short', TOKEN), false)
  t.equal(safeEqual(`${TOKEN}-and-much-longer-than-the-token`, TOKEN), false)
  t.equal(safeEqual('', TOKEN), false)
  t.same(calls, [[32, 32], [32, 32], [32, 32], [32, 32]], 'always two SHA-256 digests: length and content do not change the work')

  const auth = createAdminAuth({ adminToken: TOKEN, tokenSecrets: SECRETS, sessionSeconds: 3600 })
  t.equal(auth.checkToken(TOKEN), true)
  t.equal(auth.checkToken(TOKEN.slice(0, -1)), false)
  t.equal(auth.checkToken(TOKEN.toUpperCase()), false)
})

t.test('sessions expire, cannot come from the future, and CSRF tokens are bound to one session', async t => {
  let now = Date.parse('2026-03-04T05:06:07Z')
  const auth = createAdminAuth({ adminToken: TOKEN, tokenSecrets: SECRETS, sessionSeconds: 3600, now: () => now })
  const session = auth.newSession()
  t.same(auth.readSession(session.value), session)
  t.equal(session.expiresAt - session.issuedAt, 3600)
  t.equal(session.value, `${session.issuedAt}.${session.nonce}`, 'the record is keyed by the random part')
  t.equal(auth.readSession('garbage'), null)
  t.equal(auth.readSession(`${session.issuedAt}.short`), null)
  t.equal(auth.readSession(undefined), null)

  const csrf = auth.csrfToken(session)
  t.equal(auth.checkCsrf(session, csrf), true)
  const other = auth.newSession()
  t.not(other.value, session.value, 'each log-in gets its own session')
  t.equal(auth.checkCsrf(other, csrf), false, 'another session\'s token does not work')
  t.equal(auth.checkCsrf(session, undefined), false)
  t.equal(auth.checkCsrf(session, ''), false)
  t.equal(auth.checkCsrf(session, ['x']), false)
  t.equal(auth.checkCsrf(session, `${csrf}x`), false)

  now += 3599_000
  t.ok(auth.readSession(session.value), 'valid until the end')
  now += 1000
  t.equal(auth.readSession(session.value), null, 'expired after ADMIN_SESSION_SECONDS')
  now = Date.parse('2026-03-04T05:06:07Z') - 3600_000
  t.equal(auth.readSession(session.value), null, 'issued in the future: refused')

  const rotated = createAdminAuth({ adminToken: `${TOKEN}-rotated`, tokenSecrets: SECRETS, sessionSeconds: 3600 })
  t.not(rotated.cookieSecret, auth.cookieSecret, 'a new ADMIN_TOKEN ends every session')
  t.not(createAdminAuth({ adminToken: TOKEN, tokenSecrets: ['another-secret-0123456789abcdef01234567'], sessionSeconds: 3600 }).cookieSecret, auth.cookieSecret)
})

t.test('without ADMIN_TOKEN every /admin URL is a 404', async t => {
  isolateNetwork(t)
  const app = await build(t, testConfig())
  for (const [method, url] of [['GET', '/admin'], ['GET', '/admin/login'], ['POST', '/admin/login'], ['GET', '/admin/signups.csv'], ['GET', '/admin/assets/admin.js'], ['GET', '/admin/w/default']] as const) {
    const res = await app.inject({ method, url, ...(method === 'POST' ? { payload: { token: TOKEN } } : {}) })
    t.equal(res.statusCode, 404, `${method} ${url}`)
    t.equal(res.headers['set-cookie'], undefined)
  }
})

t.test('log-in: a wrong token is a 401 page; the right one sets a signed, HttpOnly, SameSite=Strict cookie', async t => {
  isolateNetwork(t)
  const { seen } = sessionMocks()
  const app = await build(t, adminConfig({ PUBLIC_URL: 'http://localhost:3000', ADMIN_SESSION_SECONDS: '7200' }))

  const anonymous = await app.inject({ url: '/admin' })
  t.equal(anonymous.statusCode, 303)
  t.equal(anonymous.headers.location, '/admin/login')
  const anonymousJson = await app.inject({ url: '/admin/signups.csv', headers: { accept: 'application/json' } })
  t.equal(anonymousJson.statusCode, 401)
  t.same(anonymousJson.json(), { code: 'unauthorized', message: 'Log in to the admin page first.' })

  const form = await app.inject({ url: '/admin/login' })
  t.equal(form.statusCode, 200)
  t.match(form.body, '<form method="post" action="/admin/login">')
  t.match(form.body, 'type="password"')

  const wrong = await app.inject({ method: 'POST', url: '/admin/login', payload: { token: 'wrong-token-0123456789' } })
  t.equal(wrong.statusCode, 401)
  t.match(wrong.headers['content-type'], 'text/html')
  t.match(wrong.body, 'That token is not right.')
  t.equal(wrong.headers['set-cookie'], undefined, 'no cookie for a wrong token')
  t.same(seen, [], 'and no session record')

  const ok = await app.inject({ method: 'POST', url: '/admin/login', payload: { token: TOKEN } })
  t.equal(ok.statusCode, 303)
  t.equal(ok.headers.location, '/admin')
  const cookie = String(ok.headers['set-cookie'])
  t.match(cookie, /^leadlink_admin=\d+\.[A-Za-z0-9_-]{24}\.[A-Za-z0-9+/=_-]+;/, 'value.signature')
  t.match(cookie, /; HttpOnly/)
  t.match(cookie, /; SameSite=Strict/)
  t.match(cookie, /; Path=\/admin/)
  t.match(cookie, /; Max-Age=7200/)
  t.notMatch(cookie, /Secure/, 'plain http (local): no Secure flag, or the browser would drop it')
  t.equal(ok.headers['strict-transport-security'], undefined, 'and no HSTS over plain http')
  const nonce = /^leadlink_admin=\d+\.([A-Za-z0-9_-]{24})\./.exec(cookie)?.[1] ?? ''
  t.equal(seen.length, 1)
  t.equal(seen[0]?.method, 'PUT')
  t.equal(seen[0]?.key, sessionKey({ nonce }), 'the record is admin/sessions/<sha256 of the nonce>.json')
  t.match(seen[0]?.key, /^admin\/sessions\/[0-9a-f]{64}\.json$/)
  t.notMatch(seen[0]?.key, nonce, 'the key does not hold the cookie\'s nonce')
  t.equal(seen[0]?.headers['if-none-match'], '*', 'created only if absent')
  const record = JSON.parse(seen[0]?.body ?? '{}') as { issuedAt: number, expiresAt: number }
  t.equal(record.expiresAt - record.issuedAt, 7200, 'with its expiry')

  const form2 = await app.inject({ method: 'POST', url: '/admin/login', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `token=${encodeURIComponent(TOKEN)}` })
  t.equal(form2.statusCode, 303, 'the HTML form (urlencoded) logs in too')
})

t.test('with an https PUBLIC_URL the cookie is Secure and every admin answer carries HSTS', async t => {
  isolateNetwork(t)
  sessionMocks()
  const app = await build(t, adminConfig({ PUBLIC_URL: 'https://leadlink.test' }))
  const ok = await app.inject({ method: 'POST', url: '/admin/login', payload: { token: TOKEN } })
  t.equal(ok.statusCode, 303)
  t.match(String(ok.headers['set-cookie']), /; Secure/)
  const cookie = String(ok.headers['set-cookie']).split(';')[0] ?? ''
  nock(S3_HOST).get('/').query(true).reply(200, EMPTY_LIST, { 'Content-Type': 'application/xml' })
  const page = await app.inject({ url: '/admin', headers: { cookie } })
  t.equal(page.statusCode, 200)
  for (const res of [ok, page, await app.inject({ url: '/admin/login' })]) {
    t.equal(res.headers['strict-transport-security'], 'max-age=31536000', 'HSTS for a year (RFC 6797)')
  }
})

t.test('a tampered, foreign or unsigned cookie is no session', async t => {
  isolateNetwork(t)
  const { seen } = sessionMocks()
  const app = await build(t, adminConfig())
  const other = await build(t, adminConfig({ ADMIN_TOKEN: 'another-admin-token-0123456789' }))
  const { cookie } = await login(app)
  const [name, value] = cookie.split('=') as [string, string]
  const [issued, nonce, signature] = value.split('.') as [string, string, string]
  const foreign = (await other.inject({ method: 'POST', url: '/admin/login', payload: { token: 'another-admin-token-0123456789' } })).headers['set-cookie']
  for (const [why, bad] of [
    ['a changed nonce', `${name}=${issued}.${nonce.replace(/^./, c => c === 'A' ? 'B' : 'A')}.${signature}`],
    ['an extended issue time', `${name}=${Number(issued) + 1000}.${nonce}.${signature}`],
    ['no signature', `${name}=${issued}.${nonce}`],
    ['signed with another ADMIN_TOKEN', String(foreign).split(';')[0]]
  ] as const) {
    const res = await app.inject({ url: '/admin', headers: { cookie: bad } })
    t.equal(res.statusCode, 303, why)
    t.equal(res.headers.location, '/admin/login', why)
  }
  t.same(seen.filter(r => r.method === 'GET').length, 1, 'a cookie that fails its signature is refused before any S3 read (the one read was login()\'s page)')
})

t.test('a signed cookie whose record is gone is no session; an S3 failure refuses rather than guesses', async t => {
  isolateNetwork(t)
  const { records } = sessionMocks()
  const app = await build(t, adminConfig())
  const { cookie } = await login(app)
  records.clear()
  const page = await app.inject({ url: '/admin', headers: { cookie } })
  t.equal(page.statusCode, 303, 'deleting admin/sessions/ (or one record) ends the session')
  t.equal(page.headers.location, '/admin/login')
  const json = await app.inject({ url: '/admin/signups.csv', headers: { cookie, accept: 'application/json' } })
  t.equal(json.statusCode, 401)
  t.equal(json.json().code, 'unauthorized')

  nock.cleanAll()
  nock(S3_HOST).get(/^\/admin\/sessions\//).query(true).reply(500, '<Error><Code>InternalError</Code></Error>', { 'Content-Type': 'application/xml' })
  const down = await app.inject({ url: '/admin/signups.csv', headers: { cookie, accept: 'application/json' } })
  t.equal(down.statusCode, 503, 'fails closed')
  t.equal(down.json().code, 'unavailable')
  t.equal(down.headers['retry-after'], '60')
})

t.test('every admin write needs the session\'s CSRF token and a same-origin request', async t => {
  isolateNetwork(t)
  const { seen } = sessionMocks()
  const app = await build(t, adminConfig())
  const { cookie, csrf } = await login(app)
  t.match(csrf, /^[A-Za-z0-9_-]{43}$/, 'the pages carry the token')
  const second = await login(app)
  const url = `/admin/w/default/versions/${VERSION}/activate`
  const form = (fields: Record<string, string>, headers: Record<string, string> = {}) => app.inject({
    method: 'POST', url, headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...headers }, payload: new URLSearchParams(fields).toString()
  })

  for (const [why, res] of [
    ['no token', await form({})],
    ['a wrong token', await form({ _csrf: 'A'.repeat(43) })],
    ['another session\'s token', await form({ _csrf: second.csrf })],
    ['a cross-site Origin', await form({ _csrf: csrf }, { origin: 'https://evil.example' })],
    ['an opaque Origin', await form({ _csrf: csrf }, { origin: 'null' })],
    ['Sec-Fetch-Site: cross-site', await form({ _csrf: csrf }, { 'sec-fetch-site': 'cross-site' })]
  ] as const) {
    t.equal(res.statusCode, 403, why)
    t.equal(res.json().code, 'csrf_invalid', why)
  }
  t.same(pendingOtherThanSessions(), [])
  t.same(new Set(seen.slice(-6).map(r => r.method)), new Set(['GET']), 'nothing but the session check reached S3')

  // With the token (form field or header) and the app's own Origin the request gets through to the catalog.
  const list = `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>${BUCKET}</Name><IsTruncated>false</IsTruncated></ListBucketResult>`
  nock(S3_HOST).get('/').query(true).times(6).reply(200, list, { 'Content-Type': 'application/xml' })
  const passed = await form({ _csrf: csrf }, { origin: 'http://localhost:80' })
  t.equal(passed.statusCode, 404, 'past the CSRF check (Origin is the Host the request came to)')
  t.equal(passed.json().code, 'whitepaper_not_found')
  const viaPublicUrl = await form({ _csrf: csrf }, { origin: 'https://leadlink.test' })
  t.equal(viaPublicUrl.statusCode, 404, 'or PUBLIC_URL\'s origin (behind a proxy that rewrites Host)')
  const viaHeader = await form({}, { 'x-csrf-token': csrf })
  t.equal(viaHeader.statusCode, 404, 'the header works for scripts')
  t.equal((await form({ _csrf: csrf }, { origin: 'http://localhost:8080' })).statusCode, 403, 'another port is another origin')

  const noCookie = await app.inject({ method: 'POST', url, headers: { accept: 'application/json' }, payload: { _csrf: csrf } })
  t.equal(noCookie.statusCode, 401, 'a token without its session is nothing')
})

t.test('log-out needs the CSRF token, deletes the session record and clears the cookie', async t => {
  isolateNetwork(t)
  const { records, seen } = sessionMocks()
  const app = await build(t, adminConfig())
  const { cookie, csrf } = await login(app)
  const other = await login(app)
  t.equal(records.size, 2, 'one record per log-in')
  const forged = await app.inject({ method: 'POST', url: '/admin/logout', headers: { cookie } })
  t.equal(forged.statusCode, 403, 'a forged log-out is refused')
  t.equal(records.size, 2, 'and deletes nothing')
  const res = await app.inject({ method: 'POST', url: '/admin/logout', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: `_csrf=${csrf}` })
  t.equal(res.statusCode, 303)
  t.equal(res.headers.location, '/admin/login')
  t.match(String(res.headers['set-cookie']), /^leadlink_admin=; Max-Age=0; Path=\/admin; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Strict$/)
  const deleted = seen.filter(r => r.method === 'DELETE')
  t.equal(deleted.length, 1)
  t.equal(records.size, 1, 'this session\'s record is gone')
  t.notOk(records.has(deleted[0]?.key ?? ''), 'the deleted one')

  const replayed = await app.inject({ url: '/admin', headers: { cookie } })
  t.equal(replayed.statusCode, 303, 'the old cookie, replayed, is no session')
  t.equal(replayed.headers.location, '/admin/login')
  nock(S3_HOST).get('/').query(true).reply(200, EMPTY_LIST, { 'Content-Type': 'application/xml' })
  t.equal((await app.inject({ url: '/admin', headers: { cookie: other.cookie } })).statusCode, 200, 'another log-in stays open')
})

t.test('admin pages: strict CSP (no inline script or style), no caching, no framing, no inline markup', async t => {
  isolateNetwork(t)
  const { seen } = sessionMocks()
  const app = await build(t, adminConfig())
  const { cookie } = await login(app)
  nock(S3_HOST).get('/').query(true).reply(200, EMPTY_LIST, { 'Content-Type': 'application/xml' })
  for (const res of [await app.inject({ url: '/admin/login' }), await app.inject({ url: '/admin', headers: { cookie } })]) {
    const csp = String(res.headers['content-security-policy'])
    t.match(csp, /(^|; )script-src 'self'(;|$)/)
    t.match(csp, /(^|; )style-src 'self'(;|$)/)
    t.notMatch(csp, 'unsafe-inline')
    t.match(csp, `connect-src 'self' https://${BUCKET}.s3.us-east-1.amazonaws.com`, 'the browser may POST to the bucket, and nowhere else')
    t.match(csp, "frame-ancestors 'none'")
    t.equal(res.headers['x-frame-options'], 'DENY')
    t.equal(res.headers['cache-control'], 'no-store')
    t.equal(res.headers['x-content-type-options'], 'nosniff')
    const scripts = [...res.body.matchAll(/<script\b[^>]*>/g)].map(m => m[0])
    t.same(scripts, ['<script src="/admin/assets/admin.js" defer>'], 'the only script is the file')
    t.notMatch(res.body, /<script>|<style|\sstyle=|\son[a-z]+=/i, 'no inline script, style or handler')
  }
  const js = await app.inject({ url: '/admin/assets/admin.js' })
  t.equal(js.statusCode, 200, 'the script loads without a session')
  t.match(js.headers['content-type'], 'text/javascript')
  const reads = seen.length
  t.equal((await app.inject({ url: '/admin/assets/admin.css', headers: { cookie } })).statusCode, 200)
  t.equal(seen.length, reads, 'assets never read the session record')
})

const wrongLogin = (app: Awaited<ReturnType<typeof build>>, ip: string, i = 0) =>
  app.inject({ method: 'POST', url: '/admin/login', remoteAddress: ip, payload: { token: `wrong-${i}-0123456789` } })
const rightLogin = (app: Awaited<ReturnType<typeof build>>, ip: string, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: '/admin/login', remoteAddress: ip, headers, payload: { token: TOKEN } })

t.test('successful log-ins are never limited', async t => {
  isolateNetwork(t)
  sessionMocks()
  const app = await build(t, adminConfig({ ADMIN_LOGIN_MAX_FAILURES: '3' }))
  const codes: number[] = []
  for (let i = 0; i < 15; i++) codes.push((await rightLogin(app, '198.51.100.7')).statusCode)
  t.same(codes, Array(15).fill(303), '15 log-ins in a row from one IP, each a new session')
})

t.test('ADMIN_LOGIN_MAX_FAILURES wrong tokens per IP, then 429 with Retry-After even for the right token', async t => {
  isolateNetwork(t)
  const { seen } = sessionMocks()
  const app = await build(t, adminConfig({ ADMIN_LOGIN_MAX_FAILURES: '4' }))
  const codes: number[] = []
  for (let i = 0; i < 4; i++) codes.push((await wrongLogin(app, '203.0.113.5', i)).statusCode)
  t.same(codes, [401, 401, 401, 401], 'the failures themselves are answered as usual')

  // The HTML form, as a browser sends it.
  const blocked = await app.inject({
    method: 'POST', url: '/admin/login', remoteAddress: '203.0.113.5', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `token=${encodeURIComponent(TOKEN)}`
  })
  t.equal(blocked.statusCode, 429, 'then even the right token waits')
  const retryAfter = Number(blocked.headers['retry-after'])
  t.ok(Number.isInteger(retryAfter) && retryAfter > 0 && retryAfter <= 900, `Retry-After in seconds, within the 15-minute window (${blocked.headers['retry-after']})`)
  t.equal(blocked.headers['set-cookie'], undefined, 'no session')
  t.match(blocked.headers['content-type'], 'text/html')
  t.match(blocked.body, 'Too many wrong tokens from your network.')
  t.match(blocked.body, '<form method="post" action="/admin/login">', 'the log-in form, to try again later')
  const json = await rightLogin(app, '203.0.113.5', { accept: 'application/json' })
  t.equal(json.statusCode, 429)
  t.equal(json.json().code, 'login_blocked')
  t.ok(json.headers['retry-after'])
  t.equal((await wrongLogin(app, '203.0.113.5', 9)).statusCode, 429, 'and so does a wrong one')
  t.same(seen.filter(r => r.method === 'PUT'), [], 'no session was created for the blocked IP')

  t.equal((await rightLogin(app, '203.0.113.6')).statusCode, 303, 'another IP is unaffected')
  t.equal((await wrongLogin(app, '203.0.113.6')).statusCode, 401)
})

t.test('a successful log-in clears that IP\'s failures', async t => {
  isolateNetwork(t)
  sessionMocks()
  const app = await build(t, adminConfig({ ADMIN_LOGIN_MAX_FAILURES: '3' }))
  const codes: number[] = []
  for (const attempt of ['wrong', 'wrong', 'right', 'wrong', 'wrong', 'right', 'wrong', 'wrong', 'wrong', 'right']) {
    codes.push((attempt === 'right' ? await rightLogin(app, '192.0.2.9') : await wrongLogin(app, '192.0.2.9')).statusCode)
  }
  t.same(codes, [401, 401, 303, 401, 401, 303, 401, 401, 401, 429])
})

t.test('the old per-minute limit on every log-in attempt is gone', async t => {
  isolateNetwork(t)
  sessionMocks()
  const app = await build(t, adminConfig({ ADMIN_LOGIN_MAX_FAILURES: '1000' }))
  const codes = new Set<number>()
  for (let i = 0; i < 12; i++) codes.add((await wrongLogin(app, '192.0.2.10', i)).statusCode)
  t.same([...codes], [401], 'twelve wrong tokens in a minute are 401s while under ADMIN_LOGIN_MAX_FAILURES')
  const res = await wrongLogin(app, '192.0.2.10')
  t.equal(res.headers['x-ratelimit-limit'], undefined, '@fastify/rate-limit no longer counts this route')
})
