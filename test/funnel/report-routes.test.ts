// GET /admin/report and /admin/report.csv on the real emulators, with counts recorded through app.funnel:
// log-in required, the default range, exact figures and rates, one whitepaper or all, two versions side by
// side with their titles, escaping, bad ranges shown on the page as 422, and the CSV with its filters.
import { parse } from 'csv-parse/sync'
import { readFile } from 'node:fs/promises'
import t from 'tap'
import { buildApp } from '../../src/app.ts'
import { addDays } from '../../src/funnel/report.ts'
import { dayOf } from '../../src/funnel/model.ts'
import { startEmulators } from '../helper.ts'

const TOKEN = 'report-admin-token-0123456789'
const DAY_MS = 86_400_000
const sample = await readFile(new URL('../../scripts/sample-whitepaper.pdf', import.meta.url))

const stack = await startEmulators(t, { ADMIN_TOKEN: TOKEN })
const app = await buildApp(stack.config, { clientOptions: { credentials: stack.credentials } }, { logger: false })
t.teardown(() => app.close())
const first = await app.catalog.publish({ bytes: sample, filename: 'guide.pdf', title: 'First Edition' })
// Bytes of its own: a version id is the second and the bytes' hash, so the same bytes published again in
// the same second would be the first edition's id (a 409 for its other title).
// And a second later: versions of one second sort by their hash, and the report lists them oldest first.
await new Promise(resolve => setTimeout(resolve, 1005 - Date.now() % 1000))
const second = await app.catalog.publish({ bytes: Buffer.concat([sample, Buffer.from('\n% 2nd edition\n')]), filename: 'guide.pdf', title: 'Second <Edition> & "more"' })
const q3 = await app.catalog.publish({ slug: 'q3', bytes: sample, filename: 'q3.pdf', title: 'Q3 <Report>' })

const now = Date.now()
const today = dayOf(now)
const daysAgo = (n: number) => now - n * DAY_MS
const guide1 = { slug: 'default', version: first.version }
const guide2 = { slug: 'default', version: second.version }
const rec = (step: Parameters<typeof app.funnel.record>[0], subject: { slug: string, version: string }, n: number, at: number) => app.funnel.record(step, subject, n, at)
// The first edition, 10 days ago: 100 views, 20 submissions, 18 accepted and sent, 16 delivered, 8 downloads, 4 confirmations, 1 bounce.
rec('views', guide1, 100, daysAgo(10)); rec('submissions', guide1, 20, daysAgo(10)); rec('accepted', guide1, 18, daysAgo(10))
rec('sent', guide1, 18, daysAgo(10)); rec('delivered', guide1, 16, daysAgo(10)); rec('downloads', guide1, 8, daysAgo(10))
rec('confirmations', guide1, 4, daysAgo(10)); rec('bounced', guide1, 1, daysAgo(10))
// The second edition, 2 days ago and today: 50 views, 20 submissions, 20 accepted, sent and delivered, 15 downloads, 10 confirmations.
rec('views', guide2, 30, daysAgo(2)); rec('views', guide2, 20, now); rec('submissions', guide2, 20, now); rec('accepted', guide2, 20, now)
rec('sent', guide2, 20, now); rec('delivered', guide2, 20, now); rec('downloads', guide2, 15, now); rec('confirmations', guide2, 10, now)
// q3, today: 10 views, 1 submission. And 40 days ago (outside the default range): 1000 views of the first edition.
rec('views', { slug: 'q3', version: q3.version }, 10, now); rec('submissions', { slug: 'q3', version: q3.version }, 1, now)
rec('views', guide1, 1000, daysAgo(40))
// 200 days ago, events that could tell neither the whitepaper nor the version.
rec('views', { slug: '', version: '' }, 3, daysAgo(200))
await app.funnel.flush()

const login = await app.inject({ method: 'POST', url: '/admin/login', payload: { token: TOKEN } })
const cookie = String(login.headers['set-cookie']).split(';')[0] ?? ''
const get = (url: string, headers: Record<string, string> = {}) => app.inject({ url, headers: { cookie, ...headers } })
/** The text of a table row (tags dropped, spaces squeezed). */
const row = (body: string, table: string, step: string) => {
  const tableHtml = new RegExp(`<table[^>]*id="${table}"[\\s\\S]*?</table>`).exec(body)?.[0] ?? ''
  const tr = new RegExp(`<tr data-step="${step}">([\\s\\S]*?)</tr>`).exec(tableHtml)?.[1] ?? ''
  return tr.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim()
}

t.test('log-in required: the page and the CSV send a browser to the log-in form, a script gets 401', async t => {
  for (const url of ['/admin/report', '/admin/report.csv', '/admin/report?from=2026-01-01']) {
    const res = await app.inject({ url })
    t.equal(res.statusCode, 303, url)
    t.equal(res.headers.location, '/admin/login')
  }
  const json = await app.inject({ url: '/admin/report.csv', headers: { accept: 'application/json' } })
  t.equal(json.statusCode, 401)
  t.equal(json.json().code, 'unauthorized')
})

t.test('the default range: the last 30 days, all whitepapers, exact counts and rates', async t => {
  const res = await get('/admin/report')
  t.equal(res.statusCode, 200)
  t.match(res.headers['content-type'], 'text/html')
  t.match(res.headers['content-security-policy'], "style-src 'self';", 'the admin CSP, no inline style allowed')
  t.equal(res.headers['cache-control'], 'no-store')
  const body = res.body
  t.match(body, `<input id="from" name="from" type="date" value="${addDays(today, -29)}"`)
  t.match(body, `<input id="to" name="to" type="date" value="${today}"`)
  t.match(body, '<option value="">All whitepapers</option>')
  t.match(body, '<a href="/admin/report">Report</a>', 'in the admin nav')
  // 160 views (the 1000 of 40 days ago are outside), 41 submissions, 38 accepted and sent, 36 delivered, 23 downloads, 14 confirmations
  t.equal(row(body, 'funnel', 'views'), 'Landing-page views 160 –')
  t.equal(row(body, 'funnel', 'submissions'), 'Form submissions 41 25.6% of views 25.6%')
  t.equal(row(body, 'funnel', 'accepted'), 'Signups accepted 38 92.7% of submissions 23.8%')
  t.equal(row(body, 'funnel', 'delivered'), 'Delivered 36 94.7% of sent 22.5%')
  t.equal(row(body, 'funnel', 'opened'), 'Opened 0 0.0% of delivered 0.0%')
  t.equal(row(body, 'funnel', 'downloads'), 'Downloaded 23 63.9% of delivered 14.4%')
  t.equal(row(body, 'funnel', 'confirmations'), 'Newsletter confirmations 14 38.9% of delivered 8.8%')
  t.equal(row(body, 'outcomes', 'bounced'), 'Bounced 1 2.6% of sent')
  t.equal(row(body, 'outcomes', 'complained'), 'Complaints 0 0.0% of delivered')
  t.notMatch(body, /NaN|Infinity|undefined/)
  // The chart: two drawings (desktop, phone) with the same accessible name, and the table of its figures.
  t.equal(body.match(/<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" class="chart chart-(wide|narrow)"/g)?.length, 2)
  t.match(body, '<title id="chart-wide-title">Daily funnel, all whitepapers, ')
  t.equal(body.match(/<tr><th scope="row">\d{4}-\d\d-\d\d<\/th>/g)?.length, 30, 'one row a day in the figures table')
  t.match(body, new RegExp(`<tr><th scope="row">${today}</th><td class="num">30</td><td class="num">21</td><td class="num">20</td><td class="num">15</td><td class="num">10</td></tr>`), 'today: views, submissions, delivered, downloads, confirmations')
  t.match(body, `href="/admin/report.csv?from=${addDays(today, -29)}&amp;to=${today}"`, 'the CSV link keeps the filters')
})

t.test('versions side by side: both editions of a whitepaper, oldest first, titled, rated, escaped', async t => {
  const body = (await get('/admin/report?slug=default')).body
  const section = /<section class="versions" data-slug="default">[\s\S]*?<\/section>/.exec(body)?.[0] ?? ''
  t.ok(section, 'a comparison for the whitepaper')
  t.notMatch(body, 'data-slug="q3"', 'only the whitepaper asked for')
  const headers = [...section.matchAll(/<th scope="col" data-version="([^"]+)">/g)].map(m => m[1])
  t.same(headers, [first.version, second.version], 'the first edition, then the second')
  t.match(section, '<span class="version-title">First Edition</span>')
  t.match(section, '<span class="version-title">Second &lt;Edition&gt; &amp; &quot;more&quot;</span>', 'escaped')
  t.match(section, /Second &lt;Edition&gt;[\s\S]*?<span class="badge">current<\/span>/, 'the current one is marked')
  const tr = (step: string) => (new RegExp(`<tr data-step="${step}">([\\s\\S]*?)</tr>`).exec(section)?.[1] ?? '').replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').trim()
  t.equal(tr('submissions'), 'Form submissions 20 20.0% of views 20 40.0% of views', 'the second edition converts twice as well')
  t.equal(tr('confirmations'), 'Newsletter confirmations 4 25.0% of delivered 10 50.0% of delivered')
  t.equal(tr('bounced'), 'Bounced 1 5.6% of sent 0 0.0% of sent')
  t.match(body, '<title id="chart-wide-title">Daily funnel, “Second &lt;Edition&gt; &amp; &quot;more&quot;”, ', 'the chart names the whitepaper, escaped')
  t.notMatch(body, /<Edition>|<Report>/, 'no title unescaped anywhere')
})

t.test('one whitepaper: its figures only; the form keeps the choice', async t => {
  const body = (await get(`/admin/report?slug=q3&from=${today}&to=${today}`)).body
  t.match(body, '<option value="q3" selected>Q3 &lt;Report&gt; (q3)</option>')
  t.equal(row(body, 'funnel', 'views'), 'Landing-page views 10 –')
  t.equal(row(body, 'funnel', 'submissions'), 'Form submissions 1 10.0% of views 10.0%')
  t.equal(row(body, 'funnel', 'accepted'), 'Signups accepted 0 0.0% of submissions 0.0%')
  t.equal(row(body, 'funnel', 'delivered'), 'Delivered 0 – of sent 0.0%', 'nothing sent: no rate, not NaN')
  t.match(body, 'One version had events in this range')
  t.equal(body.match(/<tr><th scope="row">\d{4}-\d\d-\d\d<\/th>/g)?.length, 1, 'one day')
})

t.test('a longer range reaches older counts; a range with no events shows zeros', async t => {
  const body = (await get(`/admin/report?from=${addDays(today, -60)}&to=${today}`)).body
  t.equal(row(body, 'funnel', 'views'), 'Landing-page views 1160 –')
  const empty = (await get('/admin/report?from=2020-01-01&to=2020-01-31')).body
  t.equal(row(empty, 'funnel', 'views'), 'Landing-page views 0 –')
  t.equal(row(empty, 'funnel', 'submissions'), 'Form submissions 0 – of views –')
  t.match(empty, 'No events in this range')
})

t.test('events of no known whitepaper or version are shown as such (the catalog is not asked about them)', async t => {
  const day = dayOf(daysAgo(200))
  const res = await get(`/admin/report?from=${day}&to=${day}`)
  t.equal(res.statusCode, 200)
  t.equal(row(res.body, 'funnel', 'views'), 'Landing-page views 3 –')
  t.match(res.body, /<section class="versions" data-slug="">\s*<h3>Whitepaper unknown<\/h3>/)
  t.match(res.body, '<th scope="col" data-version="">Version unknown')
})

t.test('bad ranges: 422 with the form, the message next to it and the field marked; nothing else', async t => {
  const cases: Array<[string, string, string]> = [
    [`from=${today}&to=${addDays(today, -1)}`, 'from', 'The first day is after the last day.'],
    ['from=2025-01-01&to=2026-01-02', 'from', 'A report covers at most 366 days'],
    ['from=2026-02-30', 'from', 'Enter the first day as a real date (YYYY-MM-DD).'],
    ['from=yesterday', 'from', 'Enter the first day as a real date (YYYY-MM-DD).'],
    ['to=31%2F03%2F2026', 'to', 'Enter the last day as a real date (YYYY-MM-DD).'],
    ['slug=Not%20A%20Slug', 'slug', 'Pick a whitepaper from the list.']
  ]
  for (const [query, field, message] of cases) {
    const res = await get(`/admin/report?${query}`)
    t.equal(res.statusCode, 422, query)
    t.match(res.body, `<p class="field-error" role="alert" id="range-error">${message}`, query)
    t.match(res.body, new RegExp(`id="${field}" name="${field}"[^>]*aria-invalid="true" aria-describedby="range-error"`), `${query}: ${field} marked`)
    t.notMatch(res.body, 'id="funnel"', 'no report')
  }
  const hostile = await get('/admin/report?from=%22%3E%3Cscript%3Ealert(1)%3C%2Fscript%3E')
  t.equal(hostile.statusCode, 422)
  t.notMatch(hostile.body, '<script>alert')
  t.match(hostile.body, 'value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"', 'shown back as typed, escaped')
  const json = await get(`/admin/report?from=${today}&to=2000-01-01`, { accept: 'application/json' })
  t.equal(json.statusCode, 422)
  t.same(json.json(), { code: 'range_invalid', message: 'The first day is after the last day.', field: 'from' })
})

t.test('CSV: a header, one row per day, whitepaper and version, the filters applied', async t => {
  const res = await get('/admin/report.csv')
  t.equal(res.statusCode, 200)
  t.equal(res.headers['content-type'], 'text/csv; charset=utf-8')
  t.equal(res.headers['content-disposition'], `attachment; filename="funnel-${addDays(today, -29)}-to-${today}.csv"`)
  const lines = res.body.split('\r\n')
  t.equal(lines[0], 'day,slug,version,views,submissions,accepted,sent,delivered,opened,downloads,freshLinks,confirmations,unsubscribes,bounced,complained,rejected,delayed,renderingFailures')
  const rows = parse(res.body, { columns: true }) as Array<Record<string, string>>
  t.same(rows.map(r => [r.day, r.slug, r.version, r.views, r.confirmations, r.bounced]), [
    [dayOf(daysAgo(10)), 'default', first.version, '100', '4', '1'],
    [dayOf(daysAgo(2)), 'default', second.version, '30', '0', '0'],
    [today, 'default', second.version, '20', '10', '0'],
    [today, 'q3', q3.version, '10', '0', '0']
  ])
  const one = await get(`/admin/report.csv?slug=q3&from=${addDays(today, -400)}&to=${addDays(today, -35)}`)
  t.equal(one.statusCode, 200)
  t.equal(one.headers['content-disposition'], `attachment; filename="funnel-${addDays(today, -400)}-to-${addDays(today, -35)}-q3.csv"`)
  t.equal(one.body, `${lines[0]}\r\n`, 'q3 had nothing then: the header alone')
  const older = parse((await get(`/admin/report.csv?slug=default&from=${addDays(today, -50)}&to=${addDays(today, -20)}`)).body, { columns: true }) as Array<Record<string, string>>
  t.same(older.map(r => [r.day, r.views]), [[dayOf(daysAgo(40)), '1000']])
  const bad = await get(`/admin/report.csv?from=${today}&to=2000-01-01`)
  t.equal(bad.statusCode, 422, 'a refused range is a 422 (the admin error page)')
  t.match(bad.body, 'The first day is after the last day.')
})
