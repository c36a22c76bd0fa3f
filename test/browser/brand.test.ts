// The landing page in the marketer's brand, in Chromium: the logo and the cover render (decoded, with
// their alt text), the accent colours the button, every request stays on the app's own origin (no
// third party, nothing the CSP refuses), the form still works with and without JavaScript and shows
// the thank-you text; the admin brand page uploads a logo through its script. Screenshots of the
// branded page on a desktop and a phone go to docs/screenshots/ when UPDATE_DOC_SCREENSHOTS=1.
import { mkdir } from 'node:fs/promises'
import t, { type Test } from 'tap'
import type { Browser, Page } from 'playwright-core'
import { createImageUploads } from '../../src/brand/uploads.ts'
import { emailTo, launchBrowser, newPage, startSite, TITLE } from './browser.ts'

const ADMIN_TOKEN = 'brand-browser-admin-token-0123456789'
// The README's pictures change only when asked (UPDATE_DOC_SCREENSHOTS=1); otherwise every run's go to
// the git-ignored artifacts/ folder, so a test run leaves the tree clean.
const DOCS = new URL(process.env.UPDATE_DOC_SCREENSHOTS === '1' ? '../../docs/screenshots/' : '../../artifacts/screenshots/', import.meta.url)
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true }
const ACCENT = '#0f766e'
const THANKS = 'Thank you for reading Acme Research.\n\nOur next report, on storage costs, comes out in May.'

const site = await startSite(t, { ADMIN_TOKEN })
const browser = await launchBrowser(t)
const origin = new URL(site.base).origin

/** A PNG drawn by Chromium itself on a canvas (a real, decodable image for the page and the screenshots). */
async function draw (browser: Browser, width: number, height: number, paint: string): Promise<Buffer> {
  const page = await newPage(t, browser)
  await page.setContent(`<canvas width="${width}" height="${height}"></canvas>`)
  const url = await page.evaluate(`(() => { const c = document.querySelector('canvas'); const g = c.getContext('2d'); ${paint}; return c.toDataURL('image/png') })()`) as string
  await page.close()
  return Buffer.from(url.split(',')[1] as string, 'base64')
}

const logoPng = await draw(browser, 250, 96, `
  g.fillStyle = '${ACCENT}'; g.beginPath(); g.roundRect(4, 8, 80, 80, 18); g.fill();
  g.fillStyle = '#fff'; g.font = 'bold 56px sans-serif'; g.textAlign = 'center'; g.textBaseline = 'middle'; g.fillText('A', 44, 50);
  g.fillStyle = '#1f2933'; g.textAlign = 'left'; g.font = 'bold 40px sans-serif'; g.fillText('Acme', 104, 50)`)
const coverPng = await draw(browser, 480, 640, `
  const grad = g.createLinearGradient(0, 0, 0, 640); grad.addColorStop(0, '${ACCENT}'); grad.addColorStop(1, '#042f2e');
  g.fillStyle = grad; g.fillRect(0, 0, 480, 640);
  g.fillStyle = '#fff'; g.font = 'bold 44px sans-serif'; g.fillText('The Guide to', 36, 120); g.fillText('Presigned Links', 36, 176);
  g.font = '24px sans-serif'; g.fillText('Acme Research · 2026', 36, 580)`)

/** Uploads as the admin page does (presigned POST to the S3 emulator, then the byte check). */
async function upload (bytes: Buffer): Promise<string> {
  const uploads = createImageUploads({ s3: site.app.aws.s3, bucket: site.app.config.aws.s3.bucket })
  const ticket = await uploads.start({ size: bytes.length })
  const form = new FormData()
  for (const [name, value] of Object.entries(ticket.fields)) form.append(name, value)
  form.append('file', new Blob([bytes]))
  const res = await fetch(ticket.url, { method: 'POST', body: form })
  if (res.status !== 204) throw new Error(`upload refused: ${res.status}`)
  return (await uploads.verify(ticket.id)).name
}

const { brand } = site.app
await brand.save({ siteName: 'Acme Research', accent: ACCENT, logo: await brand.image(await upload(logoPng), 'Acme', 'logo') }, '')
await brand.savePage('default', {
  cover: await brand.image(await upload(coverPng), 'Cover of The Guide to Presigned Links', 'cover'),
  learn: ['Why a download link should expire', 'How S3 signs a link without a server in the path', 'What a fresh link costs'],
  thanks: THANKS
}, '')

/** What the DOM says of an <img> (the tests are typed without the DOM library). */
interface Img { complete: boolean, naturalWidth: number }

/** Every request the page makes, and everything the console complains about (CSP refusals included). */
function watch (page: Page) {
  const requests: string[] = []
  const problems: string[] = []
  page.on('request', req => requests.push(req.url()))
  page.on('console', msg => { if (msg.type() === 'error') problems.push(msg.text()) })
  page.on('pageerror', err => problems.push(err.message))
  return { requests, problems }
}

async function checkBrand (t: Test, page: Page) {
  const logo = page.getByRole('img', { name: 'Acme' })
  const cover = page.getByRole('img', { name: 'Cover of The Guide to Presigned Links' })
  await logo.waitFor()
  t.ok(await logo.evaluate(img => (img as unknown as Img).complete && (img as unknown as Img).naturalWidth === 250), 'the logo is loaded and decoded')
  t.ok(await cover.evaluate(img => (img as unknown as Img).complete && (img as unknown as Img).naturalWidth === 480), 'the cover too')
  t.equal(await page.locator('header.site').textContent(), 'Acme Research', 'the site name instead of the host')
  t.same(await page.locator('ul.learn li').allTextContents(), ['Why a download link should expire', 'How S3 signs a link without a server in the path', 'What a fresh link costs'])
  const button = page.getByRole('button', { name: 'Email me the whitepaper' })
  t.equal(await button.evaluate(b => b.ownerDocument.defaultView!.getComputedStyle(b).backgroundColor), 'rgb(15, 118, 110)', 'the accent, from /assets/brand.css')
}

t.test('with JavaScript: branded, nothing leaves the origin, the form thanks in place with the text', async t => {
  const page = await newPage(t, browser, { viewport: { width: 1280, height: 900 } })
  const seen = watch(page)
  await page.goto(`${site.base}/`)
  await checkBrand(t, page)
  t.equal(await page.locator('h1').textContent(), TITLE)
  await mkdir(DOCS, { recursive: true })
  await page.screenshot({ path: new URL('brand-landing-desktop.png', DOCS).pathname, fullPage: true })

  await page.getByLabel('Email address').fill('branded.js@example.com')
  await page.getByRole('button', { name: 'Email me the whitepaper' }).click()
  await page.getByRole('status').waitFor()
  t.same(await page.locator('.thanks p').allTextContents(), ['Thank you for reading Acme Research.', 'Our next report, on storage costs, comes out in May.'])
  t.equal(page.url(), `${site.base}/`, 'no navigation')
  t.same(seen.requests.filter(url => new URL(url).origin !== origin), [], 'no request leaves the app\'s origin')
  t.ok(seen.requests.some(url => url.includes('/assets/brand.css?v=')), 'the brand stylesheet is the app\'s')
  t.same(seen.problems, [], 'no CSP refusal, no script error')
  await emailTo(site.stack, 'branded.js@example.com')
})

t.test('without JavaScript: the post, the branded thank-you page with the text, the email', async t => {
  const page = await newPage(t, browser, { javaScriptEnabled: false })
  const seen = watch(page)
  await page.goto(`${site.base}/`)
  await checkBrand(t, page)
  await page.getByLabel('Email address').fill('branded.nojs@example.com')
  await page.getByRole('button', { name: 'Email me the whitepaper' }).click()
  await page.getByRole('heading', { name: 'Check your inbox' }).waitFor()
  t.equal(new URL(page.url()).pathname, '/thanks')
  t.same(await page.locator('.thanks p').allTextContents(), ['Thank you for reading Acme Research.', 'Our next report, on storage costs, comes out in May.'])
  await page.getByRole('img', { name: 'Acme' }).waitFor({ state: 'visible' })
  t.pass('the logo on the thank-you page too')
  t.same(seen.requests.filter(url => new URL(url).origin !== origin), [])
  t.same(seen.problems, [])
  const email = await emailTo(site.stack, 'branded.nojs@example.com')
  t.match(email.body.html, 'alt="Acme"', 'the email has the logo')
  t.match(email.body.html, ACCENT)
})

t.test('on a phone: the cover beside the title, nothing wider than the screen', async t => {
  const page = await newPage(t, browser, PHONE)
  await page.goto(`${site.base}/`)
  await checkBrand(t, page)
  const width = await page.locator('html').evaluate(html => html.scrollWidth)
  t.ok(width <= 390, `no sideways scrolling (${width}px)`)
  await page.screenshot({ path: new URL('brand-landing-phone.png', DOCS).pathname, fullPage: true })
})

t.test('the admin brand page uploads a logo through its script, and the page shows it', async t => {
  const page = await newPage(t, browser)
  const seen = watch(page)
  await page.goto(`${site.base}/admin/login`)
  await page.getByLabel('Admin token').fill(ADMIN_TOKEN)
  await page.getByRole('button', { name: 'Log in' }).click()
  await page.goto(`${site.base}/admin/brand`)
  const second = await draw(browser, 200, 60, `g.fillStyle = '#7c2d12'; g.fillRect(0, 0, 200, 60); g.fillStyle = '#fff'; g.font = 'bold 36px sans-serif'; g.fillText('Acme 2', 20, 44)`)
  await page.locator('#logo-file').setInputFiles({ name: 'logo.png', mimeType: 'image/png', buffer: second })
  await page.getByText('Checked: PNG, 200×60 pixels.').waitFor()
  await page.getByLabel(/^Alt text/).fill('Acme, second logo')
  await page.getByRole('button', { name: 'Save the brand' }).click()
  await page.getByText('Saved.').waitFor()
  // Visible once loaded (its box is sized by the image): wait for it rather than look once.
  await page.getByRole('img', { name: 'Acme, second logo' }).waitFor({ state: 'visible' })
  t.pass('the new logo in the form, with its alt text')
  t.same(seen.problems, [], 'under the admin CSP, no refusal')
  const landing = await newPage(t, browser)
  await landing.goto(`${site.base}/`)
  t.ok(await landing.getByRole('img', { name: 'Acme, second logo' }).evaluate(img => (img as unknown as Img).naturalWidth === 200), 'the landing page shows it (CATALOG_REFRESH_SECONDS=0 here)')
})
