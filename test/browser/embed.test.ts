// The form embedded on the marketer's own site (a FORM_ORIGINS origin) through /embed/<slug>, in
// Chromium without JavaScript: the frame loads, the form posts from inside it, the thank-you page
// stays in it, and the email goes out. A site not in FORM_ORIGINS cannot frame it.
import { createServer } from 'node:http'
import t from 'tap'
import { freePorts } from '../process/child.ts'
import { emailTo, launchBrowser, newPage, screenshot, startSite } from './browser.ts'

const [marketerPort, otherPort] = await freePorts(2)
const marketer = `http://localhost:${marketerPort}`
const site = await startSite(t, { FORM_ORIGINS: marketer })
const browser = await launchBrowser(t)

/** A page of another site (another origin: localhost, not 127.0.0.1) that frames the form. */
async function hostPage (port: number): Promise<void> {
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
    res.end(`<!doctype html><html lang="en"><head><title>Acme research</title></head><body><h1>Acme research</h1>
<iframe src="${site.base}/embed/default" title="Get the whitepaper by email" style="border:0;width:100%;max-width:40rem;height:30rem"></iframe></body></html>`)
  })
  await new Promise<void>(resolve => server.listen(port, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
}
await hostPage(marketerPort as number)
await hostPage(otherPort as number)

t.test('without JavaScript, on a FORM_ORIGINS page: the framed form signs up and thanks in place', async t => {
  const page = await newPage(t, browser, { javaScriptEnabled: false })
  await page.goto(`${marketer}/`)
  const frame = page.frameLocator('iframe')
  await frame.getByLabel('Email address').fill('embedded.reader@example.com')
  await frame.getByRole('button', { name: 'Email me the whitepaper' }).click()
  await frame.getByRole('heading', { name: 'Check your inbox' }).waitFor()
  t.equal(page.url(), `${marketer}/`, 'the marketer\'s page stays where it was')
  const inner = page.frames().find(f => f !== page.mainFrame())
  t.match(inner?.url(), `${site.base}/thanks?embed=1`, 'the thank-you page is in the frame')
  await screenshot(page, 'embed-thanks')
  const email = await emailTo(site.stack, 'embedded.reader@example.com')
  t.match(email.subject, 'Your copy of')
})

t.test('a site not in FORM_ORIGINS cannot frame it', async t => {
  const page = await newPage(t, browser)
  const blocked: string[] = []
  page.on('console', msg => { if (/frame-ancestors/.test(msg.text())) blocked.push(msg.text()) })
  await page.goto(`http://localhost:${otherPort}/`)
  const frame = page.frames().find(f => f !== page.mainFrame())
  // Chromium replaces a refused frame's document: the form never shows.
  await page.waitForTimeout(0)
  t.equal(await page.frameLocator('iframe').getByLabel('Email address').count(), 0, 'no form in the frame')
  t.ok(frame, 'the frame element exists')
})
