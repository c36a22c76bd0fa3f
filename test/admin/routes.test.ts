// Admin routes against the real S3 and SES emulators: the dashboard, a browser-style upload through the
// presigned POST (sent here with fetch) into a staging key, the server's checks and copy before
// activation, tickets reused afterwards, crafted meta.json files, activate and roll back, the email
// preview (which sends nothing), signup counts and the streamed CSV.
import { createHash } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { parse } from 'csv-parse/sync'
import t, { type Test } from 'tap'
import type { SubscriberRecord } from '../../src/subscribers/store.ts'
import type { WhitepaperPointer } from '../../src/whitepapers/catalog.ts'
import { Writable } from 'node:stream'
import { buildApp } from '../../src/app.ts'
import { loggerOptions } from '../../src/logging.ts'
import { type App, sentEmails, startEmulators } from '../helper.ts'

const TOKEN = 'routes-admin-token-0123456789'
const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex')
const sample = await readFile(new URL('../../scripts/sample-whitepaper.pdf', import.meta.url))

function pdf (size: number, mark: string): Buffer {
  const bytes = Buffer.alloc(size, 0x20)
  bytes.write(`%PDF-1.4\n% ${mark}\n`, 0, 'latin1')
  return bytes
}

const stack = await startEmulators(t, { ADMIN_TOKEN: TOKEN, ADMIN_UPLOAD_MAX_BYTES: '65536' })
const bucket = stack.config.aws.s3.bucket
const s3 = new S3Client({ region: 'us-east-1', endpoint: stack.config.aws.s3.endpoint ?? '', forcePathStyle: true, credentials: stack.credentials })
t.teardown(() => s3.destroy())
// Everything the app logs, to check at the end that no address or secret got there.
let logs = ''
const app = await buildApp(stack.config, { clientOptions: { credentials: stack.credentials } }, {
  logger: { ...loggerOptions('debug'), stream: new Writable({ write (chunk, _enc, cb) { logs += String(chunk); cb() } }) }
})
t.teardown(() => app.close())
const first = await app.catalog.publish({ bytes: sample, filename: 'Guide.pdf', title: 'The Guide', description: 'All about links.' })
await app.catalog.publish({ slug: 'q3', bytes: pdf(3000, 'q3 v1'), filename: 'q3.pdf', title: 'Q3 <Report>' })

const login = await app.inject({ method: 'POST', url: '/admin/login', payload: { token: TOKEN } })
const cookie = String(login.headers['set-cookie']).split(';')[0] ?? ''
const csrf = /name="_csrf" value="([^"]+)"/.exec((await app.inject({ url: '/admin', headers: { cookie } })).body)?.[1] ?? ''

const get = (url: string) => app.inject({ url, headers: { cookie } })
const api = (url: string, payload: object) => app.inject({ method: 'POST', url, headers: { cookie, accept: 'application/json', 'x-csrf-token': csrf }, payload })
const activateForm = (slug: string, version: string) => app.inject({
  method: 'POST',
  url: `/admin/w/${slug}/versions/${version}/activate`,
  headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
  payload: `_csrf=${encodeURIComponent(csrf)}`
})

async function readJson<T> (key: string): Promise<T> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
  return JSON.parse(await res.Body?.transformToString() ?? '') as T
}

async function readBytes (key: string): Promise<Buffer> {
  const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
  return Buffer.from(await res.Body?.transformToByteArray() ?? new Uint8Array())
}

async function exists (key: string): Promise<boolean> {
  return await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(() => true, () => false)
}

/** Sends a ticket's form again (a ticket stays good for minutes): what an attacker holding one could do. */
async function postAgain (ticket: Ticket, bytes: Uint8Array, type = 'application/pdf'): Promise<number> {
  const form = new FormData()
  for (const [k, v] of Object.entries(ticket.fields)) form.append(k, v)
  form.append('file', new Blob([bytes], { type }))
  return (await fetch(ticket.url, { method: 'POST', body: form })).status
}

interface Ticket { version: string, key: string, filename: string, url: string, fields: Record<string, string>, verifyUrl: string }

/** What the admin page's script does: ask for a presigned POST, send the form (fields, then the file) to S3. */
async function upload (t: Test, slug: string, filename: string, bytes: Uint8Array, title?: string): Promise<Ticket> {
  const start = await api(`/admin/w/${slug}/uploads`, { filename, size: bytes.byteLength, ...(title ? { title } : {}) })
  t.equal(start.statusCode, 201, start.body)
  const ticket = start.json() as Ticket
  const form = new FormData()
  for (const [name, value] of Object.entries(ticket.fields)) form.append(name, value)
  form.append('file', new Blob([bytes], { type: 'application/pdf' }), filename)
  const res = await fetch(ticket.url, { method: 'POST', body: form })
  t.equal(res.status, 204, `S3 took the POST: ${await res.text()}`)
  return ticket
}

t.test('the dashboard lists every whitepaper with its current version; a new slug is one form away', async t => {
  const res = await get('/admin')
  t.equal(res.statusCode, 200)
  t.match(res.body, '<a href="/admin/w/default">default</a>')
  t.match(res.body, '<a href="/admin/w/q3">q3</a>')
  t.match(res.body, 'Q3 &lt;Report&gt;', 'titles are escaped')
  t.notMatch(res.body, '<Report>')
  t.match(res.body, `<code>${first.version}</code>`)
  t.match(res.body, '<a href="/w/q3">/w/q3</a>', 'links to the landing pages')

  const next = await get('/admin/new?slug=fresh-paper')
  t.equal(next.statusCode, 303)
  t.equal(next.headers.location, '/admin/w/fresh-paper')
  const bad = await get('/admin/new?slug=Bad%20Slug')
  t.equal(bad.statusCode, 422)
  t.match(bad.body, 'A slug is 1-64 lowercase letters, digits and dashes.')
  const fresh = await get('/admin/w/fresh-paper')
  t.equal(fresh.statusCode, 200)
  t.match(fresh.body, 'No version is active yet: upload one, then activate it.')
  t.match(fresh.body, 'data-max-bytes="65536"')
})

t.test('upload → check → activate → roll back, through the presigned POST', async t => {
  const bytes = pdf(40_000, 'q3 second edition')
  const ticket = await upload(t, 'q3', 'Q3 Report (2nd).pdf', bytes, 'Q3 Report, 2nd edition')
  t.equal(ticket.key, `uploads/q3/${ticket.version}/upload.pdf`, 'the POST wrote a staging key, not a version key')
  t.ok(await exists(ticket.key))
  const versionKey = `whitepapers/q3/versions/${ticket.version}/Q3-Report-2nd-.pdf`

  const before = await get('/admin/w/q3')
  t.notMatch(before.body, `data-version="${ticket.version}"`, 'uploaded but not checked: not a version at all yet')
  const early = await activateForm('q3', ticket.version)
  t.equal(early.statusCode, 404)
  t.match(early.body, `has no version ${ticket.version}`)

  const verified = await api(ticket.verifyUrl, { filename: 'Q3 Report (2nd).pdf', title: 'Q3 Report, 2nd edition', description: 'Now with charts.' })
  t.equal(verified.statusCode, 200, verified.body)
  t.same(verified.json(), {
    slug: 'q3',
    version: ticket.version,
    filename: 'Q3 Report (2nd).pdf',
    title: 'Q3 Report, 2nd edition',
    size: bytes.length,
    sha256: sha256(bytes),
    activateUrl: `/admin/w/q3/versions/${ticket.version}/activate`
  })
  const meta = await readJson<Record<string, unknown>>(`whitepapers/q3/versions/${ticket.version}/meta.json`)
  t.has(meta, { source: 'upload', key: versionKey, sha256: sha256(bytes), size: bytes.length, description: 'Now with charts.' })
  t.equal(sha256(await readBytes(versionKey)), sha256(bytes), 'the checked bytes were copied into the version key')
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: versionKey }))
  t.equal(meta.etag, head.ETag, 'meta.json holds the ETag of the copy')
  t.equal(head.ContentDisposition, 'attachment; filename="Q3 Report (2nd).pdf"', 'the download keeps the real name')
  t.equal(head.ContentType, 'application/pdf')
  t.notOk(await exists(ticket.key), 'the staging object is gone')
  const again = await api(ticket.verifyUrl, { filename: 'Q3 Report (2nd).pdf' })
  t.equal(again.statusCode, 200, 'checking twice is harmless')
  t.equal(again.json().title, 'Q3 Report, 2nd edition', 'and keeps what the first check recorded')
  t.equal((await readJson<WhitepaperPointer>('whitepapers/q3/current.json')).title, 'Q3 <Report>', 'nothing is live until activated')

  const activated = await activateForm('q3', ticket.version)
  t.equal(activated.statusCode, 303)
  t.equal(activated.headers.location, `/admin/w/q3?activated=${ticket.version}`)
  const pointer = await readJson<WhitepaperPointer>('whitepapers/q3/current.json')
  t.has(pointer, { version: ticket.version, title: 'Q3 Report, 2nd edition', filename: 'Q3 Report (2nd).pdf', size: bytes.length, sha256: sha256(bytes) })
  const landing = await app.inject({ url: '/w/q3' })
  t.match(landing.body, 'Q3 Report, 2nd edition', 'this instance shows it at once')
  t.match(landing.body, 'Now with charts.')
  const page = await get(`/admin/w/q3?activated=${ticket.version}`)
  t.match(page.body, `Version ${ticket.version} is now current.`)
  t.match(page.body, new RegExp(`<tr class="current" data-version="${ticket.version}">`))
  t.match(page.body, 'Roll back to this', 'the older version offers a roll-back')

  const older = (await app.catalog.versions('q3')).find(v => !v.current)
  const back = await api(`/admin/w/q3/versions/${older?.version}/activate`, {})
  t.equal(back.statusCode, 200)
  t.has(back.json(), { version: older?.version, title: 'Q3 <Report>' })
  t.equal((await readJson<WhitepaperPointer>('whitepapers/q3/current.json')).version, older?.version, 'rolled back')
})

t.test('the server refuses what is not a PDF, too large, missing, or changed after the check', async t => {
  const fake = await upload(t, 'q3', 'notes.pdf', Buffer.from('plain text notes, not a PDF\n'.repeat(4)))
  const notPdf = await api(fake.verifyUrl, { filename: 'notes.pdf' })
  t.equal(notPdf.statusCode, 422)
  t.same(notPdf.json(), { code: 'not_a_pdf', message: 'The uploaded file is not a PDF (it does not start with %PDF-).', field: 'file' })
  const refused = await activateForm('q3', fake.version)
  t.equal(refused.statusCode, 404, 'it can never be activated: it never became a version')
  t.notOk(await exists(fake.key), 'and its staging object is gone')

  const tooBig = await api('/admin/w/q3/uploads', { filename: 'big.pdf', size: 65537 })
  t.equal(tooBig.statusCode, 422)
  t.equal(tooBig.json().code, 'file_too_large', 'refused before any presigned POST is made')
  // S3 itself enforces content-length-range; the emulator does not, so the check after upload matters.
  const big = await upload(t, 'q3', 'big.pdf', pdf(1000, 'big'))
  await fetch(big.url, { method: 'POST', body: (() => { const f = new FormData(); for (const [k, v] of Object.entries(big.fields)) f.append(k, v); f.append('file', new Blob([pdf(70_000, 'big')])); return f })() })
  const overLimit = await api(big.verifyUrl, { filename: 'big.pdf' })
  t.equal(overLimit.statusCode, 422)
  t.equal(overLimit.json().code, 'file_too_large')

  const missing = await api('/admin/w/q3/versions/20200101T000000Z-00000000/verify', { filename: 'never.pdf' })
  t.equal(missing.statusCode, 404)
  t.equal(missing.json().code, 'upload_not_found')

  // An object changed under a version key after its check (not something a ticket can do any more).
  const good = await upload(t, 'q3', 'swap.pdf', pdf(2000, 'checked'))
  t.equal((await api(good.verifyUrl, { filename: 'swap.pdf' })).statusCode, 200)
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `whitepapers/q3/versions/${good.version}/swap.pdf`, Body: pdf(2000, 'swapped by hand') }))
  const changed = await activateForm('q3', good.version)
  t.equal(changed.statusCode, 409)
  t.match(changed.body, 'changed after it was checked')
  t.match(changed.body, '<a href="/admin/w/q3">Back</a>', 'the error page leads back to the whitepaper')
})

t.test('a ticket reused after the check changes nothing a download can reach', async t => {
  const bytes = pdf(3000, 'the checked edition')
  const ticket = await upload(t, 'q3', 'Checked.pdf', bytes, 'Checked edition')
  const verified = await api(ticket.verifyUrl, { filename: ticket.filename, title: 'Checked edition' })
  t.equal(verified.statusCode, 200, verified.body)
  const versionKey = `whitepapers/q3/versions/${ticket.version}/Checked.pdf`

  // The presigned POST still works for minutes: send HTML, then a different PDF, with the same ticket.
  const html = Buffer.from('<html><script>alert(document.cookie)</script></html>')
  t.equal(await postAgain(ticket, html), 204, 'S3 takes the form again (the emulator, like S3, until the ticket expires)')
  t.same(await readBytes(versionKey), bytes, 'the version\'s bytes are the checked ones')
  t.equal(await postAgain(ticket, pdf(3000, 'a swapped edition')), 204)
  const again = await api(ticket.verifyUrl, { filename: 'Other.pdf', title: 'Swapped' })
  t.equal(again.statusCode, 200, 'checking again answers what was recorded')
  t.has(again.json(), { sha256: sha256(bytes), title: 'Checked edition', filename: 'Checked.pdf' })
  t.same(await readBytes(versionKey), bytes, 'still the checked bytes')

  const activated = await api(`/admin/w/q3/versions/${ticket.version}/activate`, {})
  t.equal(activated.statusCode, 200, activated.body)
  const pointer = await app.catalog.read('q3')
  t.equal(pointer?.key, versionKey)
  const link = await app.downloadLinks.mint(pointer as WhitepaperPointer, 300)
  const download = await fetch(link.url)
  t.equal(download.status, 200)
  t.equal(sha256(Buffer.from(await download.arrayBuffer())), sha256(bytes), 'the public download is the checked PDF')
  t.equal(download.headers.get('content-type'), 'application/pdf')
})

t.test('an upload named meta.json becomes meta.json.pdf at a staging key; the version\'s meta.json stays the server\'s', async t => {
  const bytes = pdf(2500, 'named meta.json')
  const ticket = await upload(t, 'q3', 'meta.json', bytes)
  t.equal(ticket.filename, 'meta.json.pdf')
  t.equal(ticket.key, `uploads/q3/${ticket.version}/upload.pdf`)
  const metaKey = `whitepapers/q3/versions/${ticket.version}/meta.json`
  t.notOk(await exists(metaKey), 'the POST wrote no meta.json')
  const verified = await api(ticket.verifyUrl, { filename: 'meta.json' })
  t.equal(verified.statusCode, 200, verified.body)
  t.has(verified.json(), { filename: 'meta.json.pdf', title: 'meta.json', sha256: sha256(bytes) })
  const meta = await readJson<Record<string, unknown>>(metaKey)
  t.has(meta, { key: `whitepapers/q3/versions/${ticket.version}/meta.json.pdf`, filename: 'meta.json.pdf', source: 'upload' })
  t.same(await readBytes(`whitepapers/q3/versions/${ticket.version}/meta.json.pdf`), bytes)
})

t.test('a crafted meta.json (wrong slug or version, a key elsewhere, a 201-character title) cannot be activated', async t => {
  const version = '20260101T000000Z-c0ffee00'
  const folder = `whitepapers/q3/versions/${version}/`
  const pdfBytes = pdf(1500, 'crafted')
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${folder}q3.pdf`, Body: pdfBytes, ContentType: 'application/pdf' }))
  const subscriberKey = `subscribers/${app.subscribers.keyOf('victim@example.com')}.json`
  // Something a download must never serve (removed after: the signups test below counts records).
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: subscriberKey, Body: JSON.stringify({ address: 'victim@example.com' }) }))
  t.teardown(() => s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: subscriberKey })))
  const good = {
    slug: 'q3', version, key: `${folder}q3.pdf`, filename: 'q3.pdf', title: 'Crafted', description: '',
    size: pdfBytes.length, sha256: sha256(pdfBytes), createdAt: new Date().toISOString(), source: 'publish'
  }
  const currentBefore = await readJson<WhitepaperPointer>('whitepapers/q3/current.json')
  for (const [why, body] of [
    ['a subscriber record as the key', { ...good, key: subscriberKey }],
    ['another slug', { ...good, slug: 'default' }],
    ['another version', { ...good, version: '20260101T000000Z-00000001' }],
    ['a 201-character title', { ...good, title: 'T'.repeat(201) }]
  ] as const) {
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${folder}meta.json`, Body: JSON.stringify(body) }))
    const res = await api(`/admin/w/q3/versions/${version}/activate`, {})
    t.equal(res.statusCode, 409, why)
    t.equal(res.json().code, 'version_meta_invalid', why)
    t.match(res.json().message, `Version ${version} of "q3" cannot be activated: its meta.json is not valid`, why)
    const page = await get('/admin/w/q3')
    t.match(page.body, new RegExp(`data-version="${version}">[\\s\\S]*?not a checked PDF`), `${why}: listed as not activatable`)
  }
  t.same(await readJson<WhitepaperPointer>('whitepapers/q3/current.json'), currentBefore, 'the pointer never moved')

  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `${folder}meta.json`, Body: JSON.stringify(good) }))
  t.equal((await api(`/admin/w/q3/versions/${version}/activate`, {})).statusCode, 200, 'the same folder with a valid meta.json activates')
  const back = await api(`/admin/w/q3/versions/${currentBefore.version}/activate`, {})
  t.equal(back.statusCode, 200)
})

t.test('the email preview renders the current version and sends nothing', async t => {
  const preview = await get('/admin/w/default/preview')
  t.equal(preview.statusCode, 200)
  t.match(preview.body, '<dd id="preview-subject">Your copy of The Guide</dd>')
  t.match(preview.body, `version <code>${first.version}</code>`)
  t.match(preview.body, '<iframe class="email" src="/admin/w/default/preview.html" title="The HTML email" sandbox></iframe>')
  const frame = await get('/admin/w/default/preview.html')
  t.equal(frame.statusCode, 200)
  t.match(frame.headers['content-security-policy'], /; sandbox$/, 'the email HTML runs sandboxed')
  t.match(frame.headers['content-security-policy'], "frame-ancestors 'self'")
  t.equal(frame.headers['x-frame-options'], 'SAMEORIGIN')
  const link = /href="(http[^"]*X-Amz-Signature[^"]*)"/.exec(frame.body)?.[1]?.replace(/&amp;/g, '&') ?? ''
  t.match(decodeURIComponent(new URL(link).pathname), first.key, 'the button links the current version')
  const download = await fetch(link)
  t.equal(sha256(Buffer.from(await download.arrayBuffer())), sha256(sample), 'and works')
  t.same(await sentEmails(stack.sesUrl), [], 'no email was sent')
  const none = await get('/admin/w/fresh-paper/preview')
  t.equal(none.statusCode, 404)
})

t.test('signup counts by status and by day, and the CSV (RFC 4180, formulas neutralised, status filter)', async t => {
  const day = new Date().toISOString().slice(0, 10)
  const at = new Date().toISOString()
  const records: Array<Partial<SubscriberRecord> & { address: string, status: SubscriberRecord['status'] }> = [
    { address: 'ann@example.com', status: 'confirmed', confirmation: { at, ip: '192.0.2.1', userAgent: 'x' } },
    { address: '=hyperlink@example.com', status: 'pending' },
    { address: '+plus@example.com', status: 'unsubscribed', unsubscription: { at, ip: '192.0.2.3', userAgent: 'x', via: 'one-click' } },
    { address: '-minus@example.com', status: 'suppressed' },
    { address: 'bob@example.com', status: 'confirmed', confirmation: { at, ip: '192.0.2.2', userAgent: 'x' } }
  ]
  for (const r of records) {
    const hash = app.subscribers.keyOf(r.address)
    const record: SubscriberRecord = {
      schemaVersion: 1,
      addressHash: hash,
      createdAt: at,
      updatedAt: at,
      deliveries: [],
      signups: [
        { at, slug: 'q3', consentText: 'old', consentVersion: 'v-old', ip: '@SUM(1+1)', userAgent: 'x' },
        { at, slug: 'default', consentText: 'new', consentVersion: 'v-new', ip: '198.51.100.7', userAgent: 'x' }
      ],
      ...r
    }
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: `subscribers/${hash}.json`, Body: JSON.stringify(record) }))
  }

  const stats = await get('/admin/signups/counts')
  t.equal(stats.statusCode, 200)
  t.match(stats.body, '5 addresses on file.')
  t.match(stats.body, /<tr><td>confirmed<\/td><td class="num">2<\/td><\/tr>/)
  t.match(stats.body, /<tr><td>pending<\/td><td class="num">1<\/td><\/tr>/)
  t.match(stats.body, /<tr><td>unsubscribed<\/td><td class="num">1<\/td><\/tr>/)
  t.match(stats.body, /<tr><td>suppressed<\/td><td class="num">1<\/td><\/tr>/)
  t.match(stats.body, `<tr><td>${day}</td><td class="num">5</td><td class="num">10</td><td class="num">2</td><td class="num">1</td></tr>`, 'today: 5 new, 10 submissions, 2 confirmed, 1 unsubscribed')

  // The list: a page at a time, the next page from the last key of this one (S3's StartAfter).
  const list = await get('/admin/signups')
  t.equal(list.statusCode, 200)
  t.equal(list.body.match(/<tr><td>/g)?.length, 5, 'every signup on the first page')
  t.match(list.body, '<td>=hyperlink@example.com</td><td>pending</td>')
  t.notMatch(list.body, 'rel="next"', 'one page only')
  const seen: string[] = []
  let url: string | undefined = '/admin/signups?limit=2'
  while (url) {
    const res = await get(url)
    t.equal(res.statusCode, 200)
    seen.push(...[...res.body.matchAll(/<tr><td>([^<]+)<\/td>/g)].map(m => m[1] ?? ''))
    url = /<a href="([^"]+)" rel="next">/.exec(res.body)?.[1]?.replace(/&amp;/g, '&')
    if (url) t.match(url, /^\/admin\/signups\?after=[0-9a-f]{64}&limit=2$/)
  }
  t.equal(seen.length, 5, 'three pages of at most 2')
  t.same(new Set(seen), new Set(records.map(r => r.address)), 'every signup once')
  t.equal((await get('/admin/signups?after=not-a-key')).statusCode, 422)
  t.equal((await get('/admin/signups?limit=500')).statusCode, 422)

  const csv = await get('/admin/signups.csv')
  t.equal(csv.statusCode, 200)
  t.equal(csv.headers['content-type'], 'text/csv; charset=utf-8')
  t.equal(csv.headers['content-disposition'], `attachment; filename="signups-${day}.csv"`)
  t.equal(csv.headers['transfer-encoding'], 'chunked', 'streamed, not buffered')
  t.equal(csv.headers['cache-control'], 'no-store')
  const lines = csv.body.split('\r\n')
  t.equal(lines[0], 'address,status,created,confirmed,unsubscribed,consent_text_version,whitepapers_requested,signup_ip')
  t.equal(lines.at(-1), '', 'every record ends with CRLF')
  t.equal(lines.length, 7)
  const rows = parse(csv.body, { columns: true }) as Array<Record<string, string>>
  t.same(rows.map(r => r.address).sort(), ["'+plus@example.com", "'-minus@example.com", "'=hyperlink@example.com", 'ann@example.com', 'bob@example.com'],
    'cells a spreadsheet would run as formulas start with an apostrophe')
  const ann = rows.find(r => r.address === 'ann@example.com')
  t.same(ann, {
    address: 'ann@example.com',
    status: 'confirmed',
    created: at,
    confirmed: at,
    unsubscribed: '',
    consent_text_version: 'v-new',
    whitepapers_requested: 'q3 default',
    signup_ip: '198.51.100.7'
  })
  t.equal(rows.find(r => r.address === "'+plus@example.com")?.unsubscribed, at)

  const confirmed = await get('/admin/signups.csv?status=confirmed')
  t.equal(confirmed.headers['content-disposition'], `attachment; filename="signups-${day}-confirmed.csv"`)
  t.same((parse(confirmed.body, { columns: true }) as Array<Record<string, string>>).map(r => r.address).sort(), ['ann@example.com', 'bob@example.com'])
  const badStatus = await get('/admin/signups.csv?status=everyone')
  t.equal(badStatus.statusCode, 422)
})

t.test('the logs hold no address, admin token, session cookie, CSRF token or signature', async t => {
  t.ok(logs.includes('admin activated a version'), 'admin actions are logged')
  t.ok(logs.includes('admin exported signups'))
  for (const secret of [TOKEN, cookie.split('=')[1] ?? 'cookie', csrf, 'X-Amz-Signature', 'Policy']) t.notMatch(logs, secret)
  for (const part of ['ann@', 'bob@', 'hyperlink@', 'example.com']) t.notMatch(logs, part, `no "${part}"`)
})

export type { App }
