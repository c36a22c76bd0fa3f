// Server-side admin sessions against the S3 emulator, with two app instances on one bucket: a log-in
// works on both, and a log-out on one ends the session on both, whoever replays the old cookie.
import { createHash } from 'node:crypto'
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import t from 'tap'
import { reconfigure } from '../../src/config.ts'
import { build, startEmulators } from '../helper.ts'

const TOKEN = 'sessions-admin-token-0123456789'

const stack = await startEmulators(t, { ADMIN_TOKEN: TOKEN })
const config = reconfigure(stack.config, { SENDER: 'off' })
const bucket = config.aws.s3.bucket
const s3 = new S3Client({ region: 'us-east-1', endpoint: config.aws.s3.endpoint ?? '', forcePathStyle: true, credentials: stack.credentials })
t.teardown(() => s3.destroy())
// Two instances behind one load balancer: same settings, same bucket, no memory shared.
const a = await build(t, config, { clientOptions: { credentials: stack.credentials } })
const b = await build(t, config, { clientOptions: { credentials: stack.credentials } })
type App = typeof a

async function sessionKeys (): Promise<string[]> {
  const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'admin/sessions/' }))
  return (page.Contents ?? []).map(o => o.Key ?? '')
}

async function login (app: App): Promise<{ cookie: string, csrf: string }> {
  const res = await app.inject({ method: 'POST', url: '/admin/login', payload: { token: TOKEN } })
  if (res.statusCode !== 303) throw new Error(`login answered ${res.statusCode}`)
  const cookie = String(res.headers['set-cookie']).split(';')[0] ?? ''
  const csrf = /name="_csrf" value="([^"]+)"/.exec((await app.inject({ url: '/admin', headers: { cookie } })).body)?.[1] ?? ''
  return { cookie, csrf }
}

/** What the old cookie is still good for: an upload ticket, the CSV (JSON and browser), the dashboard. */
async function tryEverything (app: App, cookie: string, csrf: string) {
  const upload = await app.inject({
    method: 'POST', url: '/admin/w/default/uploads', headers: { cookie, accept: 'application/json', 'x-csrf-token': csrf }, payload: { filename: 'x.pdf', size: 1000 }
  })
  const csvJson = await app.inject({ url: '/admin/signups.csv', headers: { cookie, accept: 'application/json' } })
  const csvPage = await app.inject({ url: '/admin/signups.csv', headers: { cookie } })
  const dashboard = await app.inject({ url: '/admin', headers: { cookie } })
  return { upload, csvJson, csvPage, dashboard }
}

t.test('a log-in records a session that every instance honours', async t => {
  const before = await sessionKeys()
  const { cookie, csrf } = await login(a)
  const nonce = /^leadlink_admin=\d+\.([A-Za-z0-9_-]{24})\./.exec(cookie)?.[1] ?? ''
  const key = `admin/sessions/${createHash('sha256').update(nonce).digest('hex')}.json`
  t.same((await sessionKeys()).filter(k => !before.includes(k)), [key], 'one record, keyed by the nonce\'s sha256')
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
  const record = JSON.parse(await res.Body?.transformToString() ?? '{}') as { issuedAt: number, expiresAt: number }
  t.equal(record.expiresAt - record.issuedAt, config.admin.sessionSeconds, 'holding its expiry')
  t.equal((await b.inject({ url: '/admin', headers: { cookie } })).statusCode, 200, 'the other instance accepts the cookie')
  const ticket = await b.inject({
    method: 'POST', url: '/admin/w/default/uploads', headers: { cookie, accept: 'application/json', 'x-csrf-token': csrf }, payload: { filename: 'x.pdf', size: 1000 }
  })
  t.equal(ticket.statusCode, 201, 'and lets it start an upload')
})

t.test('after log-out the old cookie opens nothing, on this instance or another', async t => {
  const { cookie, csrf } = await login(a)
  const other = await login(b)
  const working = await tryEverything(b, cookie, csrf)
  t.equal(working.upload.statusCode, 201, 'before log-out: an upload ticket')
  t.equal(working.csvJson.statusCode, 200, 'the CSV')
  t.equal(working.dashboard.statusCode, 200, 'the dashboard')

  const out = await a.inject({ method: 'POST', url: '/admin/logout', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: `_csrf=${encodeURIComponent(csrf)}` })
  t.equal(out.statusCode, 303)
  t.equal(out.headers.location, '/admin/login')

  for (const [name, app] of [['the instance logged out on', a], ['another instance', b]] as const) {
    const after = await tryEverything(app, cookie, csrf)
    t.equal(after.upload.statusCode, 401, `${name}: no upload ticket`)
    t.same(after.upload.json(), { code: 'unauthorized', message: 'Log in to the admin page first.' })
    t.equal(after.csvJson.statusCode, 401, `${name}: no CSV (JSON)`)
    t.equal(after.csvJson.json().code, 'unauthorized')
    t.equal(after.csvPage.statusCode, 303, `${name}: the CSV link sends a browser to log in`)
    t.equal(after.csvPage.headers.location, '/admin/login')
    t.equal(after.dashboard.statusCode, 303, `${name}: no dashboard`)
    t.equal(after.dashboard.headers.location, '/admin/login')
    t.notMatch(after.csvPage.body, 'address,status', 'no CSV bytes at all')
  }
  const fresh = await b.inject({ url: '/admin', headers: { cookie: other.cookie } })
  t.equal(fresh.statusCode, 200, 'a session logged in separately stays open')

  const twice = await a.inject({ method: 'POST', url: '/admin/logout', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: `_csrf=${encodeURIComponent(csrf)}` })
  t.equal(twice.statusCode, 303, 'the old cookie cannot even log out again: off to the log-in page')
  t.equal(twice.headers.location, '/admin/login')
})

t.test('a new instance (a deploy, a restart) still honours open sessions and still refuses ended ones', async t => {
  const open = await login(a)
  const ended = await login(a)
  const out = await a.inject({ method: 'POST', url: '/admin/logout', headers: { cookie: ended.cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: `_csrf=${encodeURIComponent(ended.csrf)}` })
  t.equal(out.statusCode, 303)
  const c = await build(t, config, { clientOptions: { credentials: stack.credentials } })
  t.equal((await c.inject({ url: '/admin', headers: { cookie: open.cookie } })).statusCode, 200)
  t.equal((await c.inject({ url: '/admin', headers: { cookie: ended.cookie } })).statusCode, 303)
})
