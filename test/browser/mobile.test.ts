// Every visitor-facing page on a phone (390×844, touch): nothing wider than the screen, a field that
// does not make iOS zoom, a button big enough to tap. Screenshots go to artifacts/screenshots/ (git-ignored).
import t, { type Test } from 'tap'
import { stat } from 'node:fs/promises'
import type { Page } from 'playwright-core'
import { emailTo, launchBrowser, listen, newPage, recipientPaths, screenshot, startSite } from './browser.ts'

const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true }

const site = await startSite(t)
const browser = await launchBrowser(t)

/** Size and font size of the first match, or null when the page has none. */
async function measure (page: Page, selector: string) {
  const el = page.locator(selector).first()
  if (await el.count() === 0) return null
  const box = (await el.boundingBox())!
  const fontSize = await el.evaluate(node => Number.parseFloat(node.ownerDocument.defaultView!.getComputedStyle(node).fontSize))
  return { left: box.x, right: box.x + box.width, height: box.height, fontSize }
}

/** Checks what makes a page usable on a phone, then saves its screenshot. */
async function checkAndShoot (t: Test, page: Page, name: string) {
  const layout = {
    ...await page.locator('html').evaluate(html => ({ scrollWidth: html.scrollWidth, innerWidth: html.ownerDocument.defaultView!.innerWidth })),
    input: await measure(page, 'input[type=email]'),
    button: await measure(page, 'button')
  }
  t.equal(layout.innerWidth, 390, `${name}: laid out for the phone's width (viewport meta)`)
  t.ok(layout.scrollWidth <= layout.innerWidth, `${name}: no sideways scrolling (${layout.scrollWidth}px)`)
  if (layout.input) {
    t.ok(layout.input.left >= 0 && layout.input.right <= 390, `${name}: the field fits the screen`)
    t.ok(layout.input.fontSize >= 16, `${name}: field text ≥ 16px, so iOS does not zoom on focus`)
  }
  if (layout.button) {
    t.ok(layout.button.right <= 390, `${name}: the button fits the screen`)
    t.ok(layout.button.height >= 44, `${name}: the button is a comfortable tap target (${layout.button.height}px)`)
  }
  const path = await screenshot(page, `mobile-${name}`)
  t.ok((await stat(path)).size > 1000, `${name}: screenshot saved`)
}

t.test('landing page, its errors and the in-place result', async t => {
  const page = await newPage(t, browser, PHONE)
  await page.goto(`${site.base}/`)
  await checkAndShoot(t, page, 'landing')
  await page.getByLabel('Email address').tap()
  await page.keyboard.type('not-an-address')
  await page.getByRole('button', { name: 'Email me the whitepaper' }).tap()
  await page.locator('#email-error').waitFor()
  await checkAndShoot(t, page, 'landing-error')
  await page.getByLabel('Email address').fill('ann@example.com')
  await page.getByRole('button', { name: 'Email me the whitepaper' }).tap()
  await page.getByRole('status').waitFor()
  await checkAndShoot(t, page, 'landing-sent')
})

t.test('without JavaScript: the re-rendered form and the thank-you page', async t => {
  const page = await newPage(t, browser, { ...PHONE, javaScriptEnabled: false })
  await page.goto(`${site.base}/`)
  await page.getByLabel('Email address').fill('bob@')
  await Promise.all([page.waitForURL(`${site.base}/subscribe`), page.getByRole('button', { name: 'Email me the whitepaper' }).tap()])
  await page.locator('#email-error').waitFor()
  await checkAndShoot(t, page, 'landing-422')
  await page.getByLabel('Email address').fill('bob@example.com')
  await Promise.all([page.waitForURL(`${site.base}/thanks`), page.getByRole('button', { name: 'Email me the whitepaper' }).tap()])
  await checkAndShoot(t, page, 'thanks')
})

t.test('the pages behind the email links', async t => {
  const links = recipientPaths(await emailTo(site.stack, 'bob@example.com'))
  const page = await newPage(t, browser, PHONE)
  await page.goto(`${site.base}${links.confirm}`)
  await checkAndShoot(t, page, 'confirm')
  await page.getByRole('button', { name: 'Yes, subscribe me' }).tap()
  await page.getByRole('heading', { name: 'You are subscribed' }).waitFor()
  await checkAndShoot(t, page, 'confirmed')
  await page.goto(`${site.base}${links.unsubscribe}`)
  await checkAndShoot(t, page, 'unsubscribe')
  await page.getByRole('button', { name: 'Unsubscribe me' }).tap()
  await page.getByRole('heading', { name: 'You are unsubscribed' }).waitFor()
  await checkAndShoot(t, page, 'unsubscribed')

  const later = await listen(t, site.stack, { now: () => Date.now() + 91 * 86400_000 })
  await page.goto(`${later.base}${links.renew}`)
  await page.getByRole('heading', { name: 'This link has expired' }).waitFor()
  await checkAndShoot(t, page, 'link-expired')
})
