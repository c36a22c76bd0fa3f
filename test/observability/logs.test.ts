// Logs: one JSON object per line, every request's lines carry its reqId, and neither the visitor's
// address nor a recipient link's signed token ever reaches them (signup, sender, rejection, fresh link).
import t from 'tap'
import { readFile } from 'node:fs/promises'
import { Writable } from 'node:stream'
import { buildApp } from '../../src/app.ts'
import { loggerOptions } from '../../src/logging.ts'
import { eventually, isolateNetwork, sentEmails, startEmulators } from '../helper.ts'

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
  await app.services.catalog.publish({ bytes: SAMPLE, filename: 'Guide.pdf', title: 'The Guide' })

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
  t.same(incoming.map(l => l.req?.url), ['/subscribe', '/subscribe', '/d/:token'], 'recipient-link URLs are logged as their route')
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
