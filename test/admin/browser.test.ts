// A real browser (Debian's Chromium driven by playwright-core) on the admin page: log in, upload a PDF
// straight to the S3 emulator through the presigned POST (the page's own JS and progress bar, under
// the admin CSP), activate it, and a new signup's email links the new bytes. Screenshots go to
// artifacts/screenshots/ (git-ignored).
import { createHash } from 'node:crypto'
import { mkdir, readFile } from 'node:fs/promises'
import { chromium, type Browser, type Page } from 'playwright-core'
import t from 'tap'
import { build, eventually, extractLink, sentEmails, startEmulators } from '../helper.ts'
import { freePorts } from '../process/child.ts'

const CHROMIUM = '/usr/bin/chromium'
const ADMIN_TOKEN = 'browser-admin-token-0123456789'
const SHOTS = new URL('../../artifacts/screenshots/', import.meta.url)
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex')

/** A PDF big enough for the progress bar to move (3 MB), distinct from the sample. */
function makePdf (size: number): Buffer {
  const bytes = Buffer.alloc(size, 0x20)
  bytes.write('%PDF-1.4\n% leadlink browser test, second edition\n', 0, 'latin1')
  bytes.write('\n%%EOF\n', size - 7, 'latin1')
  return bytes
}

const [port] = await freePorts(1)
const base = `http://127.0.0.1:${port}`
const stack = await startEmulators(t, {
  ADMIN_TOKEN,
  PUBLIC_URL: base,
  ADDRESS_COOLDOWN_SECONDS: '0',
  BOT_MIN_FILL_SECONDS: '0',
  RATE_LIMIT_PER_IP_PER_MINUTE: '0'
})
const app = await build(t, stack.config, { clientOptions: { credentials: stack.credentials } })
const first = await app.catalog.publish({
  bytes: await readFile(new URL('../../scripts/sample-whitepaper.pdf', import.meta.url)),
  filename: 'first-edition.pdf',
  title: 'First Edition',
  description: 'The version visitors got until now.'
})
await app.listen({ port, host: '127.0.0.1' })
await mkdir(SHOTS, { recursive: true })

const browser: Browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update']
})
t.teardown(() => browser.close())

/** A context that can only reach loopback (the app and the S3 emulator). */
async function newContext (options: Parameters<Browser['newContext']>[0] = {}) {
  const context = await browser.newContext(options)
  context.setDefaultTimeout(15_000)
  await context.route(url => !/^(127\.0\.0\.1|localhost)$/.test(url.hostname), route => route.abort('blockedbyclient'))
  return context
}

/** CSP violations, script errors and failed requests (other than those listed as expected). */
function watch (page: Page, expected: string[] = []): string[] {
  const problems: string[] = []
  page.on('console', msg => {
    // Failed requests are judged below, by URL.
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) problems.push(msg.text())
  })
  page.on('pageerror', err => problems.push(err.message))
  page.on('response', res => {
    const what = `${res.status()} ${new URL(res.url()).pathname}`
    if (res.status() >= 400 && !expected.includes(what)) problems.push(what)
  })
  return problems
}

t.test('log in, upload through the presigned POST with a progress bar, activate; new signups get the new bytes', async t => {
  const context = await newContext({ viewport: { width: 1280, height: 900 } })
  t.teardown(() => context.close())
  const page = await context.newPage()
  // The wrong token on purpose; browsers ask for a favicon the service does not have.
  const problems = watch(page, ['401 /admin/login', '404 /favicon.ico'])
  // Only this origin and the S3 emulator are ever contacted.
  const contacted = new Set<string>()
  page.on('request', req => { contacted.add(new URL(req.url()).origin) })

  await page.goto(`${base}/admin`)
  t.equal(new URL(page.url()).pathname, '/admin/login', 'the admin page asks to log in first')
  await page.fill('#token', 'not the token at all')
  await page.click('button[type=submit]')
  t.match(await page.textContent('[role=alert]'), 'That token is not right.')
  await page.fill('#token', ADMIN_TOKEN)
  await Promise.all([page.waitForURL(`${base}/admin`), page.click('button[type=submit]')])
  const cookies = await context.cookies(`${base}/admin`)
  const session = cookies.find(c => c.name === 'leadlink_admin')
  t.ok(session, 'a session cookie')
  t.equal(session?.httpOnly, true, 'HttpOnly: page scripts cannot read it')
  t.equal(session?.sameSite, 'Strict')
  t.equal(await page.locator('html').evaluate(html => html.ownerDocument.cookie), '', 'invisible to JavaScript')
  t.match(await page.textContent('table.data'), 'First Edition')
  await page.screenshot({ path: new URL('admin-dashboard.png', SHOTS).pathname, fullPage: true })

  await page.click('a[href="/admin/w/default"]')
  await page.waitForURL(`${base}/admin/w/default`)
  const pdf = makePdf(3 * 1024 * 1024)
  await page.setInputFiles('#file', { name: 'Second Edition.pdf', mimeType: 'application/pdf', buffer: pdf })
  await page.fill('#title', 'Second Edition')
  await page.fill('#description', 'Revised and expanded.')

  // Record what the progress bar shows while the page's own script uploads.
  const progress: number[] = []
  await page.exposeFunction('reportProgress', (value: number) => { progress.push(value) })
  await page.locator('#upload-progress').evaluate(bar => {
    const win = bar.ownerDocument.defaultView as any
    const progressBar = bar as unknown as { hidden: boolean, value: number }
    new win.MutationObserver(() => win.reportProgress(progressBar.hidden ? -1 : progressBar.value))
      .observe(bar, { attributes: true, attributeFilter: ['value', 'hidden'] })
  })
  // Loopback is instant: throttle uploads (about 2 MB/s) so the bar has something to show.
  const cdp = await context.newCDPSession(page)
  await cdp.send('Network.enable')
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: 2 * 1024 * 1024 })
  const uploaded = page.waitForURL(/\/admin\/w\/default\?uploaded=/, { timeout: 30_000 })
  await page.click('#upload-button')
  // (waitForFunction would eval a string, which this page's CSP rightly forbids.)
  await eventually(async () => await page.locator('#upload-progress').evaluate(el => (el as unknown as { value: number }).value) >= 30 || undefined, { timeoutMs: 15_000 })
  await page.screenshot({ path: new URL('admin-uploading.png', SHOTS).pathname, fullPage: true })
  await uploaded
  await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 })
  const steps = progress.filter(v => v > 0 && v < 100)
  t.ok(steps.length >= 2, `the progress bar moved in steps (${progress.join(', ')})`)
  t.same(steps, [...steps].sort((a, b) => a - b), 'never backwards')
  t.ok(progress.includes(100), 'and reached 100%')
  const version = new URL(page.url()).searchParams.get('uploaded') ?? ''
  t.match(version, /^\d{8}T\d{6}Z-[0-9a-f]{8}$/)
  t.match(await page.textContent('[role=status]'), `Version ${version} is uploaded and checked`)
  const row = page.locator(`tr[data-version="${version}"]`)
  t.match(await row.textContent(), 'Second Edition.pdf')
  t.match(await row.textContent(), '3.0 MB')
  t.match(await row.textContent(), sha256(pdf).slice(0, 12), 'the server hashed what reached the bucket')
  await page.screenshot({ path: new URL('admin-uploaded.png', SHOTS).pathname, fullPage: true })

  // Uploaded is not live: the landing page still shows the first edition.
  t.match(await (await fetch(`${base}/`)).text(), 'First Edition')

  await Promise.all([page.waitForURL(/\?activated=/), row.locator('button', { hasText: 'Activate' }).click()])
  t.match(await page.textContent('[role=status]'), `Version ${version} is now current`)
  t.match(await page.locator('tr.current').textContent(), version)
  await page.screenshot({ path: new URL('admin-activated.png', SHOTS).pathname, fullPage: true })

  await page.click('a[href="/admin/w/default/preview"]')
  await page.waitForURL(`${base}/admin/w/default/preview`)
  t.equal(await page.textContent('#preview-subject'), 'Your copy of Second Edition')
  const frame = page.frameLocator('iframe.email')
  t.match(await frame.locator('body').textContent(), 'Second Edition', 'the sandboxed frame shows the HTML email')
  await page.screenshot({ path: new URL('admin-preview.png', SHOTS).pathname, fullPage: true })
  t.same(await sentEmails(stack.sesUrl), [], 'previewing sent nothing')

  // A visitor now signs up on the landing page.
  const visitor = await context.newPage()
  const visitorProblems = watch(visitor, ['404 /favicon.ico'])
  await visitor.goto(`${base}/`)
  t.equal(await visitor.textContent('h1'), 'Second Edition')
  t.match(await visitor.textContent('.lead'), 'Revised and expanded.')
  await visitor.screenshot({ path: new URL('landing-after-activation.png', SHOTS).pathname, fullPage: true })
  await visitor.fill('#email', 'browser.reader@example.com')
  await visitor.click('button[type=submit]')
  // The form submits in place when its script runs (without it: 303 to /thanks).
  await visitor.waitForSelector('#subscribe-result[role=status]')
  t.match(await visitor.textContent('#subscribe-result'), 'Check your inbox')
  await visitor.screenshot({ path: new URL('landing-after-activation-sent.png', SHOTS).pathname, fullPage: true })

  const mail = await eventually(async () => (await sentEmails(stack.sesUrl)).find(m => m.destination.to.includes('browser.reader@example.com')))
  t.equal(mail.subject, 'Your copy of Second Edition')
  const link = extractLink(mail.body.text)
  t.match(decodeURIComponent(new URL(link).pathname), `/versions/${version}/`, 'the email links the new version')
  t.notMatch(link, first.version)
  const download = await fetch(link)
  t.equal(download.status, 200)
  t.equal(download.headers.get('content-disposition'), 'attachment; filename="Second Edition.pdf"')
  t.equal(sha256(Buffer.from(await download.arrayBuffer())), sha256(pdf), 'and downloads the bytes uploaded in the browser')

  // The marketer sees the signup and downloads the CSV with the session cookie.
  await page.goto(`${base}/admin/signups`)
  t.match(await page.locator('#signups').textContent(), /browser\.reader@example\.com\s*pending/, 'the list shows the signup')
  await page.goto(`${base}/admin/signups/counts`)
  t.match(await page.textContent('main'), '1 address on file.')
  t.match(await page.locator('#by-status').textContent(), /pending\s*1/)
  await page.screenshot({ path: new URL('admin-signups.png', SHOTS).pathname, fullPage: true })
  const [csv] = await Promise.all([page.waitForEvent('download'), page.click('main a[href="/admin/signups.csv"]')])
  t.match(csv.suggestedFilename(), /^signups-\d{4}-\d\d-\d\d\.csv$/)
  const rows = (await readFile(await csv.path(), 'utf8')).split('\r\n')
  t.equal(rows[0], 'address,status,created,confirmed,unsubscribed,consent_text_version,whitepapers_requested,signup_ip')
  t.match(rows[1], /^browser\.reader@example\.com,pending,\d{4}-/, 'the new signup is in the CSV')

  t.same(problems, [], 'no CSP violation or script error on the admin pages')
  t.same(visitorProblems, [], 'none on the landing page')
  t.same([...contacted].sort(), [base, new URL(stack.config.aws.s3.endpoint ?? '').origin].sort(), 'the browser talked to the app and the bucket only')
})

t.test('the page shows the server refusing an upload that is not a PDF; it never becomes a version', async t => {
  const context = await newContext()
  t.teardown(() => context.close())
  const page = await context.newPage()
  await page.goto(`${base}/admin/login`)
  await page.fill('#token', ADMIN_TOKEN)
  await Promise.all([page.waitForURL(`${base}/admin`), page.click('button[type=submit]')])
  await page.goto(`${base}/admin/w/default`)
  const before = await page.locator('#versions tbody tr').count()

  await page.setInputFiles('#file', { name: 'notes.pdf', mimeType: 'application/pdf', buffer: Buffer.from('just some notes, not a PDF at all\n') })
  await page.click('#upload-button')
  await page.waitForSelector('#upload-status.field-error')
  t.match(await page.textContent('#upload-status'), 'not a PDF', 'the server\'s check is shown')
  t.equal(await page.isEnabled('#upload-button'), true, 'the form can be used again')
  await page.screenshot({ path: new URL('admin-upload-refused.png', SHOTS).pathname, fullPage: true })

  await page.reload()
  // It went to a staging key outside whitepapers/, and was deleted once it failed the check.
  t.equal(await page.locator('#versions tbody tr').count(), before, 'the refused upload is not a version')
})
