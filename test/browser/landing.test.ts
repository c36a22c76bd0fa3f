// The landing page in Chromium, with and without JavaScript: with it the form submits in place (fetch,
// Accept: application/json) and shows the result or the field's error; without it, the 303 to the
// thank-you page and the 422 re-rendered form. Keyboard-only use, and what a screen reader is told.
import t from 'tap'
import type { Page, Request } from 'playwright-core'
import { accessibilityTree, axProperty, emailTo, launchBrowser, newPage, startSite, TITLE } from './browser.ts'

const site = await startSite(t)
const browser = await launchBrowser(t)

/** Every request the page makes to /subscribe, and every navigation of its main frame. */
function watch (page: Page) {
  const posts: Request[] = []
  const navigations: string[] = []
  page.on('request', req => { if (new URL(req.url()).pathname === '/subscribe') posts.push(req) })
  page.on('framenavigated', frame => { if (frame === page.mainFrame()) navigations.push(frame.url()) })
  return { posts, navigations }
}

/** The focused element as tag#id ('' for none): what the keyboard would act on. */
async function focusedId (page: Page): Promise<string> {
  const focused = page.locator(':focus')
  if (await focused.count() === 0) return ''
  return await focused.evaluate(el => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}`)
}

t.test('with JavaScript: the form submits in place and shows the result', async t => {
  const page = await newPage(t, browser)
  const seen = watch(page)
  const script = page.waitForResponse(res => res.url().endsWith('/assets/subscribe.js'))
  await page.goto(`${site.base}/`)
  t.equal((await script).status(), 200, 'the enhancement is a static file')
  t.equal(await page.locator('h1').textContent(), TITLE)

  await page.getByLabel('Email address').fill('ann@example.com')
  await page.getByRole('button', { name: 'Email me the whitepaper' }).click()
  const result = page.getByRole('status')
  await result.waitFor()
  t.equal(await result.textContent(), 'Check your inbox: the whitepaper is on its way.')
  t.equal(await focusedId(page), 'p#subscribe-result', 'focus moves to the result, so it is read out')
  t.equal(await page.locator('form').count(), 0, 'the form is replaced by the result')

  t.equal(page.url(), `${site.base}/`, 'still on the landing page')
  t.same(seen.navigations, [`${site.base}/`], 'no navigation after the first load')
  t.equal(seen.posts.length, 1)
  const post = seen.posts[0]!
  t.equal(post.resourceType(), 'fetch')
  t.equal(post.headers().accept, 'application/json')
  t.match(post.headers()['content-type'], 'application/x-www-form-urlencoded')
  t.match(Object.fromEntries(new URLSearchParams(post.postData() ?? '')), { slug: 'default', email: 'ann@example.com', website: '', stamp: /^[0-9a-z]+\.[A-Za-z0-9_-]{11}\.[A-Za-z0-9_-]{22}$/ }, 'the whole form, hidden fields included')
  t.equal((await post.response())?.status(), 202)

  const email = await emailTo(site.stack, 'ann@example.com')
  t.match(email.subject, TITLE, 'and the email is really sent')
})

t.test('with JavaScript: errors appear beside the field, announced, and go away once fixed', async t => {
  const page = await newPage(t, browser)
  const seen = watch(page)
  await page.goto(`${site.base}/`)
  const field = page.getByLabel('Email address')

  await field.fill('not-an-address')
  await page.getByRole('button', { name: 'Email me the whitepaper' }).click()
  const error = page.locator('#email-error')
  await error.waitFor()
  t.equal(await error.textContent(), 'Enter an email address like name@example.com.')
  t.equal(await error.getAttribute('role'), 'alert')
  t.equal(await field.getAttribute('aria-invalid'), 'true')
  t.equal(await field.getAttribute('aria-describedby'), 'email-error')
  t.equal(await focusedId(page), 'input#email', 'focus goes back to the field to fix it')
  t.equal(await field.inputValue(), 'not-an-address', 'what was typed stays')
  t.equal((await seen.posts[0]?.response())?.status(), 422)

  await field.fill('')
  await page.getByRole('button', { name: 'Email me the whitepaper' }).click()
  await page.getByText('Enter your email address.').waitFor()
  t.equal(await page.locator('[role=alert]').count(), 1, 'one message at a time')

  await field.fill('bea@example.com')
  await page.getByRole('button', { name: 'Email me the whitepaper' }).click()
  await page.getByRole('status').waitFor()
  t.equal(await page.locator('[role=alert]').count(), 0, 'the error is gone')
  t.same(seen.navigations, [`${site.base}/`])
  t.same(seen.posts.map(p => p.headers().accept), ['application/json', 'application/json', 'application/json'])
  await emailTo(site.stack, 'bea@example.com')
})

t.test('with JavaScript: a whitepaper that is gone shows the message above the form', async t => {
  const page = await newPage(t, browser)
  await page.goto(`${site.base}/`)
  // The slug is a hidden field: a stale page whose whitepaper was withdrawn meanwhile.
  await page.locator('input[name=slug]').evaluate(el => el.setAttribute('value', 'withdrawn'))
  await page.getByLabel('Email address').fill('cy@example.com')
  await page.getByRole('button', { name: 'Email me the whitepaper' }).click()
  const alert = page.locator('#form-error')
  await alert.waitFor()
  t.equal(await alert.getAttribute('role'), 'alert')
  t.match(await alert.textContent(), /whitepaper/i)
  t.equal(await page.locator('form').count(), 1, 'the form stays, to try again')
  t.equal(await page.getByRole('button', { name: 'Email me the whitepaper' }).isEnabled(), true)
})

t.test('without JavaScript: a form post answers 303 to the thank-you page', async t => {
  const page = await newPage(t, browser, { javaScriptEnabled: false })
  const statuses: number[] = []
  page.on('response', res => { if (new URL(res.url()).pathname === '/subscribe') statuses.push(res.status()) })
  const scripts: string[] = []
  page.on('request', req => { if (req.resourceType() === 'script') scripts.push(req.url()) })
  await page.goto(`${site.base}/`)
  await page.getByLabel('Email address').fill('dan@example.com')
  await Promise.all([
    page.waitForURL(`${site.base}/thanks`),
    page.getByRole('button', { name: 'Email me the whitepaper' }).click()
  ])
  t.same(statuses, [303])
  t.same(scripts, [], 'no script was even fetched')
  t.equal(await page.locator('h1').textContent(), 'Check your inbox')
  const notice = page.getByRole('status')
  t.match(await notice.textContent(), `We are sending ${TITLE} to the address you entered`)
  t.equal(await page.getByRole('link', { name: 'try again' }).getAttribute('href'), '/')
  await emailTo(site.stack, 'dan@example.com')
})

t.test('without JavaScript: a bad address answers 422 with the form re-rendered and the message beside the field', async t => {
  const page = await newPage(t, browser, { javaScriptEnabled: false })
  await page.goto(`${site.base}/`)
  await page.getByLabel('Email address').fill('eve@')
  const [response] = await Promise.all([
    page.waitForResponse(res => new URL(res.url()).pathname === '/subscribe'),
    page.getByRole('button', { name: 'Email me the whitepaper' }).click()
  ])
  t.equal(response.status(), 422)
  await page.waitForLoadState()
  t.equal(new URL(page.url()).pathname, '/subscribe')
  const field = page.getByLabel('Email address')
  t.equal(await field.inputValue(), 'eve@', 'what was typed comes back')
  t.equal(await field.getAttribute('aria-invalid'), 'true')
  t.equal(await field.getAttribute('aria-describedby'), 'email-error')
  t.equal(await page.locator('#email-error[role=alert]').textContent(), 'Enter an email address like name@example.com.')

  // Fixing it and submitting again goes through.
  await field.fill('eve@example.com')
  await Promise.all([page.waitForURL(`${site.base}/thanks`), page.getByRole('button', { name: 'Email me the whitepaper' }).click()])
  await emailTo(site.stack, 'eve@example.com')
})

for (const javaScriptEnabled of [true, false]) {
  t.test(`keyboard only (${javaScriptEnabled ? 'with' : 'without'} JavaScript): Tab to the field, type, Enter`, async t => {
    const page = await newPage(t, browser, { javaScriptEnabled })
    await page.goto(`${site.base}/`)
    const order: string[] = []
    for (let i = 0; i < 10 && (await focusedId(page)) !== 'input#email'; i++) {
      await page.keyboard.press('Tab')
      order.push(await focusedId(page))
    }
    t.same(order, ['a', 'input#email'], 'the site link, then the email field: nothing hidden in between')
    const address = javaScriptEnabled ? 'kim@example.com' : 'lee@example.com'
    await page.keyboard.type(address)
    await page.keyboard.press('Tab')
    t.equal(await focusedId(page), 'button', 'then the submit button')
    await page.keyboard.press('Shift+Tab')
    if (javaScriptEnabled) {
      await page.keyboard.press('Enter')
      await page.getByRole('status').waitFor()
      t.equal(page.url(), `${site.base}/`)
    } else {
      await Promise.all([page.waitForURL(`${site.base}/thanks`), page.keyboard.press('Enter')])
    }
    await emailTo(site.stack, address)
  })
}

t.test('labels and errors as a screen reader gets them', async t => {
  for (const javaScriptEnabled of [true, false]) {
    const page = await newPage(t, browser, { javaScriptEnabled })
    await page.goto(`${site.base}/`)
    const before = await accessibilityTree(page)
    const textbox = before.find(n => n.role?.value === 'textbox')
    t.equal(textbox?.name?.value, 'Email address', 'the field is named by its label')
    t.equal(axProperty(textbox!, 'required'), true)
    t.notOk(axProperty(textbox!, 'invalid') === 'true', 'not invalid before any submission')
    const button = before.find(n => n.role?.value === 'button')
    t.equal(button?.name?.value, 'Email me the whitepaper')
    t.match(button?.description?.value, 'By submitting', 'the button is described by the consent text')

    await page.getByLabel('Email address').fill('x@y')
    await Promise.all([
      page.waitForResponse(res => new URL(res.url()).pathname === '/subscribe'),
      page.getByRole('button', { name: 'Email me the whitepaper' }).click()
    ])
    await page.locator('#email-error').waitFor()
    const after = await accessibilityTree(page)
    const invalid = after.find(n => n.role?.value === 'textbox')
    const label = javaScriptEnabled ? 'with JS' : 'without JS'
    t.equal(invalid?.name?.value, 'Email address', `${label}: still named by its label`)
    t.equal(invalid?.description?.value, 'Enter an email address like name@example.com.', `${label}: the message is the field's description (aria-describedby)`)
    t.equal(axProperty(invalid!, 'invalid'), 'true', `${label}: marked invalid`)
    const alerts = after.filter(n => n.role?.value === 'alert')
    t.equal(alerts.length, 1, `${label}: one alert (role=alert, a live region read out at once)`)
    t.equal(axProperty(alerts[0]!, 'live'), 'assertive')
    const snapshot = await page.locator('form').ariaSnapshot()
    t.match(snapshot, '- textbox "Email address"', `${label}: aria snapshot names the field`)
    t.match(snapshot, '- alert: Enter an email address like name@example.com.')
  }
})
