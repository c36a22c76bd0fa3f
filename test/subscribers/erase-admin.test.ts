// /admin/privacy against the real emulators: look an address up (a POST: never in a URL), see what is
// held and what erasing removes, download it, erase it only from the confirmation's form with the
// session's CSRF token; nothing of the address reaches the logs.
import { readFile } from 'node:fs/promises'
import { Writable } from 'node:stream'
import t from 'tap'
import { buildApp } from '../../src/app.ts'
import { reconfigure } from '../../src/config.ts'
import { loggerOptions } from '../../src/logging.ts'
import { startEmulators } from '../helper.ts'

const TOKEN = 'privacy-admin-token-0123456789'
const ADDRESS = 'admin.erase@example.com'

t.test('look up, confirm, erase', async t => {
  const stack = await startEmulators(t, { ADMIN_TOKEN: TOKEN })
  let logs = ''
  const app = await buildApp(reconfigure(stack.config, { SENDER: 'off' }), { clientOptions: { credentials: stack.credentials } }, {
    logger: { ...loggerOptions('debug'), stream: new Writable({ write (chunk, _enc, cb) { logs += String(chunk); cb() } }) }
  })
  t.teardown(() => app.close())
  await app.catalog.publish({ bytes: await readFile(new URL('../../scripts/sample-whitepaper.pdf', import.meta.url)), filename: 'Guide.pdf', title: 'Admin Guide' })
  t.equal((await app.inject({ method: 'POST', url: '/subscribe', headers: { accept: 'application/json' }, payload: { email: ADDRESS } })).statusCode, 202)

  const login = await app.inject({ method: 'POST', url: '/admin/login', payload: { token: TOKEN } })
  const cookie = String(login.headers['set-cookie']).split(';')[0] ?? ''
  const home = await app.inject({ url: '/admin/privacy', headers: { cookie } })
  t.equal(home.statusCode, 200)
  t.match(home.body, '<form method="post" action="/admin/privacy/lookup"')
  t.match((await app.inject({ url: '/admin', headers: { cookie } })).body, 'href="/admin/privacy"', 'the admin nav links it')
  const csrf = /name="_csrf" value="([^"]+)"/.exec(home.body)?.[1] ?? ''
  const post = (url: string, fields: Record<string, string>) => app.inject({
    method: 'POST', url, headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(fields).toString()
  })

  t.equal((await app.inject({ url: '/admin/privacy' })).statusCode, 303, 'no session: to the log-in page')
  const forged = await post('/admin/privacy/erase', { email: ADDRESS })
  t.equal(forged.statusCode, 403, 'no CSRF token: refused')
  t.equal((await app.subscribers.get(app.subscribers.keyOf(ADDRESS)))?.record.address, ADDRESS, 'and nothing erased')

  const bad = await post('/admin/privacy/lookup', { _csrf: csrf, email: 'nobody' })
  t.equal(bad.statusCode, 422)
  t.match(bad.body, 'aria-invalid="true"')

  const unknown = await post('/admin/privacy/lookup', { _csrf: csrf, email: 'never@example.com' })
  t.match(unknown.body, 'Nothing held about this address')

  const confirm = await post('/admin/privacy/lookup', { _csrf: csrf, email: ' Admin.Erase@Example.com ' })
  t.equal(confirm.statusCode, 200)
  t.match(confirm.body, `What is held about ${ADDRESS}`)
  t.match(confirm.body, /Queued emails<\/th><td>1 not sent yet/)
  t.match(confirm.body, '<form method="post" action="/admin/privacy/erase">')
  t.equal((await app.subscribers.get(app.subscribers.keyOf(ADDRESS)))?.record.address, ADDRESS, 'the look-up changes nothing')

  const download = await post('/admin/privacy/export', { _csrf: csrf, email: ADDRESS })
  t.equal(download.statusCode, 200)
  t.equal(download.headers['content-disposition'], 'attachment; filename="personal-data.json"')
  t.match(JSON.parse(download.body), { address: ADDRESS, record: { status: 'pending' } })

  const erased = await post('/admin/privacy/erase', { _csrf: csrf, email: ADDRESS })
  t.equal(erased.statusCode, 200)
  t.match(erased.body, 'The record, 1 queued email(s) and 0 delivery-log line(s) are gone')
  t.match((await app.subscribers.get(app.subscribers.keyOf(ADDRESS)))?.record, { address: '', status: 'unsubscribed' })
  t.match((await post('/admin/privacy/lookup', { _csrf: csrf, email: ADDRESS })).body, 'Nothing held about this address')
  t.match(logs, 'admin erased an address')
  t.notMatch(logs.toLowerCase(), 'admin.erase@', 'no address in the logs')
})
