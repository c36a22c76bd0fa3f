// Shared by the browser tests: Debian's Chromium driven by playwright-core (never a downloaded browser),
// and the app listening on loopback against the real emulators with the sample whitepaper published.
import { mkdir, readFile } from 'node:fs/promises'
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core'
import { buildApp, type App } from '../../src/app.ts'
import type { ServiceDeps } from '../../src/app.ts'
import { eventually, isolateNetwork, sentEmails, startEmulators, type Emulators, type StoredEmail, type Teardown } from '../helper.ts'

/** The Debian package `chromium` (.ci/run installs it). */
export const CHROMIUM = '/usr/bin/chromium'
export const SCREENSHOTS = new URL('../../artifacts/screenshots/', import.meta.url)
export const SAMPLE = await readFile(new URL('../../scripts/sample-whitepaper.pdf', import.meta.url))
export const TITLE = 'The Guide to Presigned Links'

export async function launchBrowser (t: Teardown): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update']
  })
  t.teardown(() => browser.close())
  return browser
}

/** A fresh page in its own context (cookies, JS setting, viewport), closed on teardown. */
export async function newPage (t: Teardown, browser: Browser, options: BrowserContextOptions = {}): Promise<Page> {
  const context = await browser.newContext(options)
  t.teardown(() => context.close())
  // Pages here answer in milliseconds: a missing element should fail the test soon, not after 30 s.
  context.setDefaultTimeout(10_000)
  // Anything but loopback would be a test talking to the world: fail loudly instead.
  await context.route(url => !/^(127\.0\.0\.1|localhost)$/.test(url.hostname), route => route.abort('blockedbyclient'))
  return await context.newPage()
}

export interface Site {
  stack: Emulators
  app: App
  /** http://127.0.0.1:<port> */
  base: string
}

/** The app on 127.0.0.1:0 against the emulators, with the sample whitepaper published as `default`. */
export async function startSite (t: Teardown, overrides: Record<string, string> = {}, deps: ServiceDeps = {}): Promise<Site> {
  isolateNetwork(t)
  const stack = await startEmulators(t, { CATALOG_REFRESH_SECONDS: '0', RATE_LIMIT_PER_IP_PER_MINUTE: '0', ...overrides })
  const app = await listen(t, stack, deps)
  await app.app.catalog.publish({
    bytes: SAMPLE,
    filename: 'guide.pdf',
    title: TITLE,
    description: 'How expiring S3 links deliver files straight from the bucket.'
  })
  return { stack, ...app }
}

/** Another app on the same emulators (e.g. with a clock moved forward). */
export async function listen (t: Teardown, stack: Emulators, deps: ServiceDeps = {}): Promise<{ app: App, base: string }> {
  const app = await buildApp(stack.config, { clientOptions: { credentials: stack.credentials }, ...deps }, { logger: process.env.TEST_LOGS ? { level: 'debug' } : false })
  t.teardown(() => app.close())
  await app.listen({ host: '127.0.0.1', port: 0 })
  const { port } = app.server.address() as { port: number }
  return { app, base: `http://127.0.0.1:${port}` }
}

/** The email the emulator received for `address` (the newest), once it has arrived. */
export async function emailTo (stack: Emulators, address: string, after = 0): Promise<StoredEmail> {
  return await eventually(async () => (await sentEmails(stack.sesUrl)).filter(e => e.destination.to.includes(address)).at(after))
}

/** The paths of the three recipient links in an email (its host is PUBLIC_URL's, not the test server's). */
export function recipientPaths (email: StoredEmail): { confirm: string, unsubscribe: string, renew: string } {
  const find = (letter: string) => {
    const match = email.body.text.match(new RegExp(`https?://\\S+/${letter}/[A-Za-z0-9_-]+`))
    if (!match) throw new Error(`no /${letter}/ link in the email`)
    return new URL(match[0]).pathname
  }
  return { confirm: find('c'), unsubscribe: find('u'), renew: find('d') }
}

/** A full-page PNG under artifacts/screenshots/ (git-ignored), for people to look at. */
export async function screenshot (page: Page, name: string): Promise<string> {
  await mkdir(SCREENSHOTS, { recursive: true })
  const path = new URL(`${name}.png`, SCREENSHOTS).pathname
  await page.screenshot({ path, fullPage: true })
  return path
}

interface AXValue { value?: unknown }
export interface AXNode { role?: AXValue, name?: AXValue, description?: AXValue, properties?: Array<{ name: string, value: AXValue }>, ignored?: boolean }

/** Chromium's own accessibility tree (what a screen reader is given), via the DevTools protocol. */
export async function accessibilityTree (page: Page): Promise<AXNode[]> {
  const cdp = await page.context().newCDPSession(page)
  try {
    const { nodes } = await cdp.send('Accessibility.getFullAXTree') as { nodes: AXNode[] }
    return nodes.filter(n => !n.ignored)
  } finally {
    await cdp.detach()
  }
}

export function axProperty (node: AXNode, name: string): unknown {
  return node.properties?.find(p => p.name === name)?.value.value
}
