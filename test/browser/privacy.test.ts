// The self-service privacy page in Chromium with JavaScript off, reached from the link in a real email:
// the JSON download, then the erasure (a page that only asks, a button that erases), and what is left.
import { readFile } from 'node:fs/promises'
import t from 'tap'
import { emailTo, launchBrowser, newPage, startSite } from './browser.ts'

const ADDRESS = 'browser.privacy@example.com'
const site = await startSite(t)
const browser = await launchBrowser(t)

async function signUp (address: string): Promise<string> {
  const page = await newPage(t, browser, { javaScriptEnabled: false })
  await page.goto(`${site.base}/`)
  await page.getByLabel('Email address').fill(address)
  await Promise.all([page.waitForURL(`${site.base}/thanks`), page.getByRole('button', { name: 'Email me the whitepaper' }).click()])
  await page.close()
  const email = await emailTo(site.stack, address)
  const match = email.body.text.match(/Your data \(download or erase it\): (\S+)/)
  if (!match?.[1]) throw new Error('no privacy link in the email')
  return new URL(match[1]).pathname
}

t.test('download my data, then erase it after a confirmation, without JavaScript', async t => {
  const path = await signUp(ADDRESS)
  const key = site.app.subscribers.keyOf(ADDRESS)
  const page = await newPage(t, browser, { javaScriptEnabled: false, acceptDownloads: true })
  const response = await page.goto(`${site.base}${path}`)
  t.equal(response?.status(), 200)
  t.equal(response?.headers()['referrer-policy'], 'no-referrer', 'the token never leaks in a Referer')
  t.equal(await page.locator('h1').textContent(), 'Your data')

  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download my data (JSON)' }).click()])
  t.equal(download.suggestedFilename(), 'my-data.json')
  const data = JSON.parse(await readFile(await download.path(), 'utf8'))
  t.match(data, { address: ADDRESS, record: { status: 'pending', signups: [{ slug: 'default' }] } }, 'the download is everything held')
  t.equal(data.deliveryLog.length + data.queuedEmails.length, 1, 'with the email sent (or still queued)')

  await page.getByRole('link', { name: 'Erase my data…' }).click()
  await page.getByRole('heading', { name: 'Erase your data?' }).waitFor()
  t.equal((await site.app.subscribers.get(key))?.record.address, ADDRESS, 'the confirmation page changed nothing')
  await page.getByRole('link', { name: 'No, go back' }).click()
  await page.getByRole('heading', { name: 'Your data' }).waitFor()

  await page.getByRole('link', { name: 'Erase my data…' }).click()
  await page.getByRole('button', { name: 'Yes, erase my data' }).click()
  await page.getByRole('heading', { name: 'Your data is erased' }).waitFor()
  t.match(await page.getByRole('status').textContent(), 'We hold nothing about your address any more')
  t.match((await site.app.subscribers.get(key))?.record, { address: '', status: 'unsubscribed', signups: [], deliveries: [] }, 'only a tombstone is left')

  // Back to the page (browser history): the download now holds nothing.
  await page.goto(`${site.base}${path}`)
  const [after] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download my data (JSON)' }).click()])
  t.match(JSON.parse(await readFile(await after.path(), 'utf8')), { held: null })
})
