// The /admin report in a real browser (Debian's Chromium driven by playwright-core): log in, open the report
// on 30 days of counts recorded through app.funnel (an edition swapped halfway), see the chart and the
// figures, change the range and the whitepaper, download the CSV; a visitor's real view and signup show up;
// on a phone the narrow chart shows and nothing scrolls sideways. No CSP violation anywhere. Screenshots
// go to docs/screenshots/ (the README) when UPDATE_DOC_SCREENSHOTS=1.
import { mkdir, readFile, stat } from 'node:fs/promises'
import t, { type Test } from 'tap'
import type { Page } from 'playwright-core'
import { dayOf, type FunnelStep } from '../../src/funnel/model.ts'
import { addDays } from '../../src/funnel/report.ts'
import { accessibilityTree, launchBrowser, newPage, SAMPLE, startSite } from './browser.ts'
import { eventually } from '../helper.ts'

const ADMIN_TOKEN = 'report-browser-token-0123456789'
// The README's pictures change only when asked (UPDATE_DOC_SCREENSHOTS=1); otherwise every run's go to
// the git-ignored artifacts/ folder, so a test run leaves the tree clean.
const DOCS_SHOTS = new URL(process.env.UPDATE_DOC_SCREENSHOTS === '1' ? '../../docs/screenshots/' : '../../artifacts/screenshots/', import.meta.url)
const DAY_MS = 86_400_000
const DESKTOP = { viewport: { width: 1280, height: 800 } }
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true }

const site = await startSite(t, { ADMIN_TOKEN })
const { app, base } = site
const first = await app.catalog.read('default')
// Other bytes than the first edition's: a version id is the second and the bytes' hash, and startSite
// published the sample within the same second.
// And a second later: versions of one second sort by their hash, and the report lists them oldest first.
await new Promise(resolve => setTimeout(resolve, 1005 - Date.now() % 1000))
const second = await app.catalog.publish({ bytes: Buffer.concat([SAMPLE, Buffer.from('\n% 2nd edition\n')]), filename: 'guide-2.pdf', title: 'The Guide to Presigned Links, 2nd edition' })
await app.catalog.publish({ slug: 'pricing', bytes: SAMPLE, filename: 'pricing.pdf', title: 'Pricing <S3> & "egress"' })

// 30 days ending today: the first edition until 15 days ago, then the second (which converts better).
// Counts follow a fixed weekly pattern, so the screenshots are the same from run to run.
const now = Date.now()
const today = dayOf(now)
const totals = new Map<FunnelStep, number>()
for (let ago = 29; ago >= 0; ago--) {
  const edition = ago >= 15 ? { slug: 'default', version: first?.version ?? '' } : { slug: 'default', version: second.version }
  const better = ago < 15
  const views = 90 + ((29 - ago) * 7) % 40 + (ago % 7 === 1 || ago % 7 === 2 ? -35 : 0)
  const submissions = Math.round(views * (better ? 0.32 : 0.21))
  const accepted = submissions - (ago % 4 === 0 ? 1 : 0)
  const delivered = accepted - (ago % 9 === 0 ? 1 : 0)
  const counts: Partial<Record<FunnelStep, number>> = {
    views,
    submissions,
    accepted,
    sent: accepted,
    delivered,
    opened: Math.round(delivered * 0.45),
    downloads: Math.round(delivered * (better ? 0.7 : 0.55)),
    confirmations: Math.round(delivered * (better ? 0.4 : 0.3)),
    freshLinks: ago % 5 === 0 ? 1 : 0,
    unsubscribes: ago % 11 === 0 ? 1 : 0,
    bounced: ago % 9 === 0 ? 1 : 0
  }
  for (const [step, n] of Object.entries(counts) as Array<[FunnelStep, number]>) {
    if (n > 0) app.funnel.record(step, edition, n, now - ago * DAY_MS)
    totals.set(step, (totals.get(step) ?? 0) + n)
  }
}
app.funnel.record('views', { slug: 'pricing', version: '' }, 12, now)
totals.set('views', (totals.get('views') ?? 0) + 12)
await app.funnel.flush()

const browser = await launchBrowser(t)
await mkdir(DOCS_SHOTS, { recursive: true })

/** CSP violations, script errors and failed requests. */
function watch (page: Page): string[] {
  const problems: string[] = []
  page.on('console', msg => { if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) problems.push(msg.text()) })
  page.on('pageerror', err => problems.push(err.message))
  page.on('response', res => {
    const what = `${res.status()} ${new URL(res.url()).pathname}`
    if (res.status() >= 400 && what !== '404 /favicon.ico') problems.push(what)
  })
  return problems
}

async function logIn (page: Page) {
  await page.goto(`${base}/admin/report`)
  await page.waitForURL(`${base}/admin/login`)
  await page.fill('#token', ADMIN_TOKEN)
  await Promise.all([page.waitForURL(`${base}/admin`), page.click('button[type=submit]')])
}

/** A screenshot for the README: the screen, or the page down to the bottom of `until`. */
async function shoot (t: Test, page: Page, name: string, until?: string) {
  const path = new URL(`${name}.png`, DOCS_SHOTS).pathname
  const bottom = until ? await page.locator(until).evaluate(el => Math.ceil(el.getBoundingClientRect().bottom + (el.ownerDocument.defaultView?.scrollY ?? 0) + 24)) : 0
  await page.screenshot(until ? { path, fullPage: true, clip: { x: 0, y: 0, width: page.viewportSize()?.width ?? 0, height: bottom } } : { path })
  t.ok((await stat(path)).size > 10_000, `${name}.png saved`)
}

const cell = (page: Page, table: string, step: string, column: number) => page.locator(`#${table} tr[data-step="${step}"] td`).nth(column).textContent()

t.test('desktop: log in, read the funnel and the chart, change the range and the whitepaper, download the CSV', async t => {
  const page = await newPage(t, browser, DESKTOP)
  const problems = watch(page)
  await logIn(page)
  await Promise.all([page.waitForURL(`${base}/admin/report`), page.click('nav a[href="/admin/report"]')])
  t.equal(await page.locator('h1').textContent(), 'Report')
  t.equal(await page.inputValue('#from'), addDays(today, -29), 'the last 30 days by default')
  t.equal(await page.inputValue('#to'), today)

  // The figures, exactly as recorded.
  t.equal(await cell(page, 'funnel', 'views', 0), String(totals.get('views') ?? 0))
  t.equal(await cell(page, 'funnel', 'confirmations', 0), String((totals.get('confirmations') ?? 0)))
  const submitted = ((totals.get('submissions') ?? 0) / (totals.get('views') ?? 1) * 100).toFixed(1)
  t.equal(await cell(page, 'funnel', 'submissions', 1), `${submitted}% of views`)
  t.ok(await page.locator('#funnel').isVisible(), 'the funnel table is on screen')

  // The wide drawing shows on a desktop, the narrow one does not; the chart is a named image with lines.
  const wide = page.locator('svg.chart-wide')
  t.ok(await wide.isVisible(), 'the wide chart is shown')
  t.notOk(await page.locator('svg.chart-narrow').isVisible(), 'the phone chart is hidden')
  const box = await wide.boundingBox()
  t.ok(box && box.width > 900 && box.height > 300, `the chart fills the column (${box?.width}×${box?.height})`)
  t.equal(await wide.locator('polyline').count(), 5, 'five lines')
  t.match(await page.locator('.chart-legend').textContent(), 'Newsletter confirmations')
  const images = (await accessibilityTree(page)).filter(n => n.role?.value === 'image')
  t.same(images.map(n => n.name?.value), [`Daily funnel, all whitepapers, ${shortName(addDays(today, -29))} to ${shortName(today)}`], 'one image for screen readers, named by its title')
  t.match(String(images[0]?.description?.value), /^Daily counts from .* Every figure is in the table that follows the chart\.$/)
  // The figures behind it are one click away.
  t.notOk(await page.locator('#by-day').isVisible(), 'the day-by-day table starts folded')
  await page.click('#by-day-figures summary')
  t.equal(await page.locator('#by-day tbody tr').count(), 30)

  // Two editions side by side: the second converts better.
  const versions = page.locator('section.versions[data-slug="default"]')
  t.equal(await versions.locator('thead th[data-version]').count(), 2)
  t.match(await versions.locator('thead').textContent(), /2nd edition[\s\S]*current/)
  t.match(await versions.locator('tr[data-step="submissions"]').textContent(), /21\.\d% of views[\s\S]*3[12]\.\d% of views/)
  await page.click('#by-day-figures summary')
  await shoot(t, page, 'admin-report-desktop', 'section.versions[data-slug="default"]')

  // A shorter range, one whitepaper: the form submits by GET and the figures follow.
  await page.fill('#from', addDays(today, -6))
  await page.fill('#to', today)
  await page.selectOption('#slug', 'default')
  await Promise.all([page.waitForURL(/\/admin\/report\?from=/), page.click('#report-filters button[type=submit]')])
  const url = new URL(page.url())
  t.same(Object.fromEntries(url.searchParams), { from: addDays(today, -6), to: today, slug: 'default' })
  t.match(await page.locator('#report-range').textContent(), /^\d+ [A-Z][a-z]{2} \d{4} to \d+ [A-Z][a-z]{2} \d{4} \(UTC\), “The Guide to Presigned Links, 2nd edition”\./)
  t.equal(await page.locator('svg.chart-wide circle').count(), 5 * 7, 'a dot per day and line')
  t.equal(await page.locator('section.versions thead th[data-version]').count(), 1, 'only the second edition in the last week')

  // The CSV of what is on screen.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#report-range a[download]')])
  t.equal(download.suggestedFilename(), `funnel-${addDays(today, -6)}-to-${today}-default.csv`)
  const lines = (await readFile(await download.path(), 'utf8')).trim().split('\r\n')
  t.match(lines[0], /^day,slug,version,views,submissions,/)
  t.equal(lines.length, 1 + 7, 'a header and a row a day')

  // A refused range: 422, the message by the form, which keeps what was typed.
  await page.goto(`${base}/admin/report?from=${today}&to=${addDays(today, -3)}`)
  t.equal(await page.textContent('#range-error'), 'The first day is after the last day.')
  t.equal(await page.getAttribute('#from', 'aria-invalid'), 'true')
  t.equal(await page.inputValue('#from'), today)
  t.same(problems.filter(p => p !== `422 /admin/report`), [], 'no CSP violation, script error or failed request')
})

t.test('phone: the narrow chart, legible labels, no sideways scrolling', async t => {
  const page = await newPage(t, browser, PHONE)
  const problems = watch(page)
  await logIn(page)
  await page.goto(`${base}/admin/report`)
  const narrow = page.locator('svg.chart-narrow')
  t.ok(await narrow.isVisible(), 'the narrow chart is shown')
  t.notOk(await page.locator('svg.chart-wide').isVisible(), 'the wide one is hidden')
  const layout = await page.locator('html').evaluate(html => ({ scrollWidth: html.scrollWidth, innerWidth: html.ownerDocument.defaultView?.innerWidth ?? 0 }))
  t.equal(layout.innerWidth, 390)
  t.ok(layout.scrollWidth <= layout.innerWidth, `no sideways scrolling (${layout.scrollWidth}px)`)
  // SVG text scales with the drawing: its rendered size is what a reader sees.
  const label = await narrow.locator('text').first().boundingBox()
  t.ok(label && label.height >= 10, `axis labels about 12 px high (${label?.height})`)
  const box = await narrow.boundingBox()
  t.ok(box && box.x >= 0 && box.x + box.width <= 390, 'the chart fits the screen')
  t.equal(await cell(page, 'funnel', 'views', 0), String(totals.get('views') ?? 0), 'the figures are there')
  // The page is long on a phone: the README shows its top (form and funnel) and its chart, a screen each.
  await shoot(t, page, 'admin-report-phone')
  await page.locator('#daily-chart').evaluate(el => { el.scrollIntoView({ block: 'start' }) })
  await shoot(t, page, 'admin-report-phone-chart')
  t.same(problems, [], 'no CSP violation or script error')
})

function shortName (day: string): string {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']
  return `${Number(day.slice(8))} ${months[Number(day.slice(5, 7)) - 1]} ${day.slice(0, 4)}`
}

t.test('a visitor\'s real view and signup move today\'s figures (the routes\' own events, not recorded by hand)', async t => {
  const admin = await newPage(t, browser, DESKTOP)
  await logIn(admin)
  await admin.goto(`${base}/admin/report`)
  const todayRow = async () => {
    const cells = admin.locator('#by-day tbody tr').last().locator('td')
    return { views: Number(await cells.nth(0).textContent()), submissions: Number(await cells.nth(1).textContent()) }
  }
  const before = await todayRow()
  const visitor = await newPage(t, browser, PHONE)
  await visitor.goto(`${base}/`)
  await visitor.fill('#email', 'report.reader@example.com')
  await visitor.click('button[type=submit]')
  await visitor.waitForSelector('#subscribe-result[role=status]')
  const after = await eventually(async () => {
    // Each try stores what was counted: a flush leaves new counts in memory while an earlier part of the
    // month is still being written, and the next flush takes them.
    await app.funnel.flush()
    await admin.reload()
    const row = await todayRow()
    return row.submissions > before.submissions ? row : undefined
  }, { timeoutMs: 30_000 })
  t.same(after, { views: before.views + 1, submissions: before.submissions + 1 }, 'one view, one submission')
  t.equal(await cell(admin, 'funnel', 'accepted', 0), String((totals.get('accepted') ?? 0) + 1), 'and one signup accepted')
})
