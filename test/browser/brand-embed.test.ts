// The copy-paste snippets of /admin/w/<slug>/embed, pasted as they are into a page of another loopback
// origin listed in FORM_ORIGINS, in Chromium with JavaScript on and off: the frame signs up and thanks
// in place (its script submits in place when it can), and the plain form posts across origins to
// /subscribe and lands on the thank-you page; each time the email goes out.
import { createServer } from 'node:http'
import t from 'tap'
import { buildApp } from '../../src/app.ts'
import { isolateNetwork, startEmulators } from '../helper.ts'
import { freePorts } from '../process/child.ts'
import { ADMIN_TOKEN, logIn } from '../brand/support.ts'
import { emailTo, launchBrowser, newPage, SAMPLE, TITLE } from './browser.ts'

const [appPort, marketerPort] = await freePorts(2)
const base = `http://127.0.0.1:${appPort}`
const marketer = `http://localhost:${marketerPort}`
isolateNetwork(t)
const stack = await startEmulators(t, { PUBLIC_URL: base, FORM_ORIGINS: marketer, ADMIN_TOKEN, CATALOG_REFRESH_SECONDS: '0', RATE_LIMIT_PER_IP_PER_MINUTE: '0' })
const app = await buildApp(stack.config, { clientOptions: { credentials: stack.credentials } }, { logger: false })
t.teardown(() => app.close())
await app.catalog.publish({ bytes: SAMPLE, filename: 'guide.pdf', title: TITLE })
await app.listen({ host: '127.0.0.1', port: appPort as number })

// The snippets exactly as the admin page shows them (a textarea's text is its value, unescaped).
const admin = await logIn(app)
const embedPage = (await admin.get('/admin/w/default/embed')).body
const textOf = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, '\'').replace(/&amp;/g, '&')
const snippet = (id: string) => textOf(new RegExp(`<textarea id="${id}"[^>]*>([\\s\\S]*?)</textarea>`).exec(embedPage)?.[1] ?? '')
const iframe = snippet('snippet-iframe')
const form = snippet('snippet-form')

// The marketer's site: another origin (localhost, not 127.0.0.1), a page per snippet.
const server = createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
  res.end(`<!doctype html><html lang="en"><head><title>Acme research</title></head><body><h1>Acme research</h1>${req.url === '/form' ? form : iframe}</body></html>`)
})
await new Promise<void>(resolve => server.listen(marketerPort as number, '127.0.0.1', resolve))
t.teardown(() => new Promise<void>(resolve => server.close(() => resolve())))
const browser = await launchBrowser(t)

t.test('the admin page shows both snippets for this service, and that the marketer\'s origin is allowed', async t => {
  t.match(iframe, `<iframe src="${base}/embed/default"`)
  t.match(form, `<form method="post" action="${base}/subscribe">`)
  t.match(embedPage, `pages on <code>${marketer}</code> may show and send the form`)
})

for (const javaScriptEnabled of [true, false]) {
  const js = javaScriptEnabled ? 'with JavaScript' : 'without JavaScript'

  t.test(`the frame snippet, ${js}`, async t => {
    const page = await newPage(t, browser, { javaScriptEnabled })
    await page.goto(`${marketer}/`)
    const frame = page.frameLocator('iframe')
    const address = `frame.${javaScriptEnabled ? 'js' : 'nojs'}@example.com`
    await frame.getByLabel('Email address').fill(address)
    await frame.getByRole('button', { name: 'Email me the whitepaper' }).click()
    if (javaScriptEnabled) {
      await frame.getByText('Check your inbox: the whitepaper is on its way.').waitFor()
    } else {
      await frame.getByRole('heading', { name: 'Check your inbox' }).waitFor()
    }
    t.equal(page.url(), `${marketer}/`, 'the marketer\'s page stays')
    t.match((await emailTo(stack, address)).subject, TITLE)
  })

  t.test(`the plain form snippet, ${js}`, async t => {
    const page = await newPage(t, browser, { javaScriptEnabled })
    const posts: Array<{ origin: string | undefined, status: number | undefined }> = []
    page.on('requestfinished', async req => {
      if (req.method() === 'POST') posts.push({ origin: req.headers().origin, status: (await req.response())?.status() })
    })
    await page.goto(`${marketer}/form`)
    const address = `form.${javaScriptEnabled ? 'js' : 'nojs'}@example.com`
    await page.getByLabel('Email address').fill(address)
    await page.getByRole('button', { name: 'Email me the whitepaper' }).click()
    await page.getByRole('heading', { name: 'Check your inbox' }).waitFor()
    t.equal(new URL(page.url()).origin, base, 'the thank-you page is the service\'s')
    t.match(posts, [{ origin: marketer, status: 303 }], 'a cross-origin post from a FORM_ORIGINS page, accepted')
    t.match((await emailTo(stack, address)).subject, TITLE)
  })
}
