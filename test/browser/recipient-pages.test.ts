// The pages behind the links in the email, in Chromium: confirm and unsubscribe (a page, then a button:
// the GET alone changes nothing), a fresh download link, and the pages for expired or broken links.
import t from 'tap'
import { readFile } from 'node:fs/promises'
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3'
import type { SubscriberRecord } from '../../src/subscribers/store.ts'
import { emailTo, launchBrowser, listen, newPage, recipientPaths, SAMPLE, startSite } from './browser.ts'

const site = await startSite(t)
const browser = await launchBrowser(t)
const s3 = new S3Client({ region: 'us-east-1', endpoint: site.stack.config.aws.s3.endpoint, forcePathStyle: true, credentials: site.stack.credentials })
t.teardown(() => s3.destroy())

async function status (address: string): Promise<SubscriberRecord['status']> {
  const res = await s3.send(new GetObjectCommand({ Bucket: site.stack.config.aws.s3.bucket, Key: `subscribers/${site.app.subscribers.keyOf(address)}.json` }))
  return (JSON.parse(await res.Body!.transformToString()) as SubscriberRecord).status
}

/** Signs up through the real form (no JavaScript) and returns the links of the email that arrives. */
async function signUp (address: string) {
  const page = await newPage(t, browser, { javaScriptEnabled: false })
  await page.goto(`${site.base}/`)
  await page.getByLabel('Email address').fill(address)
  await Promise.all([page.waitForURL(`${site.base}/thanks`), page.getByRole('button', { name: 'Email me the whitepaper' }).click()])
  await page.close()
  return recipientPaths(await emailTo(site.stack, address))
}

t.test('confirm: the page only asks; the button confirms (by keyboard too)', async t => {
  const links = await signUp('ann@example.com')
  const page = await newPage(t, browser)
  const response = await page.goto(`${site.base}${links.confirm}`)
  t.equal(response?.status(), 200)
  t.equal(response?.headers()['referrer-policy'], 'no-referrer', 'the token never leaks in a Referer')
  t.equal(await page.locator('h1').textContent(), 'Confirm your subscription')
  t.equal(await status('ann@example.com'), 'pending', 'opening the link changed nothing')

  const button = page.getByRole('button', { name: 'Yes, subscribe me' })
  await button.focus()
  await Promise.all([page.waitForURL(`${site.base}${links.confirm}`, { waitUntil: 'load' }), page.keyboard.press('Enter')])
  await page.getByRole('heading', { name: 'You are subscribed' }).waitFor()
  t.equal(await page.getByRole('status').textContent(), 'Thank you: you are subscribed to our newsletter.')
  t.equal(await status('ann@example.com'), 'confirmed')
})

t.test('unsubscribe: the page only asks; the button unsubscribes', async t => {
  const links = await signUp('bob@example.com')
  const page = await newPage(t, browser)
  await page.goto(`${site.base}${links.unsubscribe}`)
  t.equal(await page.locator('h1').textContent(), 'Unsubscribe')
  t.equal(await status('bob@example.com'), 'pending')
  await page.getByRole('button', { name: 'Unsubscribe me' }).click()
  await page.getByRole('heading', { name: 'You are unsubscribed' }).waitFor()
  t.match(await page.getByRole('status').textContent(), 'We will not email this address again')
  t.equal(await status('bob@example.com'), 'unsubscribed')

  // The old confirm button of the same email no longer subscribes.
  await page.goto(`${site.base}${links.confirm}`)
  await page.getByRole('button', { name: 'Yes, subscribe me' }).click()
  await page.getByRole('heading', { name: 'Not subscribed' }).waitFor()
  t.match(await page.getByRole('status').textContent(), 'You unsubscribed after this email was sent')
  t.equal(await page.getByRole('link', { name: 'Sign up again' }).getAttribute('href'), '/')
  t.equal(await status('bob@example.com'), 'unsubscribed')
})

t.test('a fresh link: the browser follows the redirect and downloads the PDF, served by the bucket', async t => {
  const links = await signUp('cy@example.com')
  const page = await newPage(t, browser, { acceptDownloads: true })
  const redirects: Array<{ status: number, location: string }> = []
  page.on('response', res => { if (res.status() === 302) redirects.push({ status: res.status(), location: res.headers().location ?? '' }) })
  // An attachment is a download, not a page: goto reports the navigation as aborted.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.goto(`${site.base}${links.renew}`).catch(() => null)
  ])
  t.equal(redirects.length, 1)
  const location = new URL(redirects[0]!.location)
  t.equal(location.origin, new URL(site.stack.config.aws.s3.endpoint!).origin, 'straight to the bucket')
  t.equal(download.url(), location.href)
  t.equal(download.suggestedFilename(), 'guide.pdf', 'under the whitepaper\'s real file name')
  t.same(await readFile(await download.path()), SAMPLE)
})

t.test('link expired, link broken, whitepaper withdrawn: clear pages with a way forward', async t => {
  const links = await signUp('dee@example.com')
  // 91 days on, the fresh-link token (90 days) has expired.
  const later = await listen(t, site.stack, { now: () => Date.now() + 91 * 86400_000 })
  const page = await newPage(t, browser)
  const expired = await page.goto(`${later.base}${links.renew}`)
  t.equal(expired?.status(), 410)
  t.equal(await page.locator('h1').textContent(), 'This link has expired')
  t.match(await page.getByRole('alert').textContent(), 'Sign up again and we will email you a new one')
  await Promise.all([page.waitForURL(`${later.base}/`), page.getByRole('link', { name: 'Sign up again' }).click()])
  t.equal(await page.getByLabel('Email address').count(), 1, 'the link leads back to the form')

  const token = links.confirm.slice(3)
  const broken = await page.goto(`${site.base}/c/${token.slice(0, -6)}`)
  t.equal(broken?.status(), 400)
  t.equal(await page.locator('h1').textContent(), 'This link does not work')
  t.match(await page.getByRole('alert').textContent(), 'copy the whole address from the email')
  t.equal(await page.getByRole('link', { name: 'Back to the start page' }).getAttribute('href'), '/')

  const withdrawn = site.app.recipientLinks.forEmail(site.app.subscribers.keyOf('dee@example.com'), 'withdrawn')
  const gone = await page.goto(`${site.base}${new URL(withdrawn.renewUrl).pathname}`)
  t.equal(gone?.status(), 410)
  t.equal(await page.locator('h1').textContent(), 'This whitepaper is no longer available')
})
