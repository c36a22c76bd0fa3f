// Local mode's living funnel: with the emulators, one signup moves Send and Delivery, and following the
// email's download link (through the local click redirect, as SES click tracking would) moves Click,
// all through the handler the verified webhook uses.
import t from 'tap'
import { readFile } from 'node:fs/promises'
import { buildApp } from '../../src/app.ts'
import localEvents from '../../src/http/routes/local-events.ts'
import { dayOf } from '../../src/funnel/model.ts'
import { eventually, isolateNetwork, sentEmails, startEmulators } from '../helper.ts'

const SAMPLE = await readFile(new URL('../../scripts/sample-whitepaper.pdf', import.meta.url))
// Local mode's own settings: stored SES templates on, as `npm start` runs them.
const stack = await startEmulators(t, { SES_MAX_SEND_RATE: '100' })
isolateNetwork(t)
const app = await buildApp(stack.config, { clientOptions: { credentials: stack.credentials } }, { logger: false })
t.teardown(() => app.close())
// As src/server.ts does in local mode.
await app.register(localEvents)
await app.ready()
const pointer = await app.catalog.publish({ bytes: SAMPLE, filename: 'Guide.pdf', title: 'The Guide' })
const today = dayOf(Date.now())
const counts = async () => {
  await app.funnel.flush()
  return (await app.funnel.read({ from: today, to: today, slug: 'default' })).find(r => r.version === pointer.version)?.counts ?? {}
}
const unescapeHref = (s: string) => s.replaceAll('&amp;', '&')

t.test('one signup moves sent and delivered; following the download link moves downloads, once per email', async t => {
  const res = await app.inject({ method: 'POST', url: '/subscribe', headers: { accept: 'application/json' }, payload: { email: 'newcomer@example.com' } })
  t.equal(res.statusCode, 202)
  const email = await eventually(async () => (await sentEmails(stack.sesUrl)).find(e => e.destination.to.includes('newcomer@example.com')))
  const moved = await eventually(async () => { const c = await counts(); return c.sent === 1 ? c : undefined })
  t.same(moved, { submissions: 1, accepted: 1, sent: 1, delivered: 1 })

  const hrefs = [...email.body.html.matchAll(/href="([^"]*)"/g)].map(m => unescapeHref(m[1] as string))
  const clicks = hrefs.filter(h => new URL(h).pathname === '/local/click')
  t.ok(clicks.length >= 3, 'the email\'s links go through the local click redirect')
  const download = clicks.find(h => new URL(h).searchParams.get('u')?.includes('X-Amz-Signature'))
  const confirm = clicks.find(h => new URL(new URL(h).searchParams.get('u') ?? '').pathname.startsWith('/c/'))
  if (!download || !confirm) throw new Error('no download or confirm link')
  t.notMatch(email.body.text, '/local/click', 'the text part keeps its links, as with SES')

  const follow = await app.inject({ method: 'GET', url: new URL(download).pathname + new URL(download).search })
  t.equal(follow.statusCode, 302)
  t.equal(follow.headers.location, new URL(download).searchParams.get('u'), 'redirects to the presigned link')
  const pdf = await fetch(follow.headers.location as string)
  t.equal(pdf.status, 200, 'which downloads the PDF')
  await app.inject({ method: 'GET', url: new URL(download).pathname + new URL(download).search })
  const viaConfirm = await app.inject({ method: 'GET', url: new URL(confirm).pathname + new URL(confirm).search })
  t.equal(viaConfirm.statusCode, 302)
  t.same(await counts(), { submissions: 1, accepted: 1, sent: 1, delivered: 1, downloads: 1 }, 'two clicks on the download link are one download; the confirm link is not one')
})

t.test('the redirect only leads to the service or its bucket', async t => {
  const res = await app.inject({ method: 'GET', url: `/local/click?${new URLSearchParams({ k: 'a'.repeat(24), s: 'default', v: '', u: 'https://evil.example.com/' })}` })
  t.equal(res.statusCode, 400)
  t.equal(res.headers.location, undefined)
  const bad = await app.inject({ method: 'GET', url: '/local/click?k=x&s=default&v=&u=http://localhost:3000/' })
  t.equal(bad.statusCode, 422, 'a malformed email id is refused by the schema')
})
