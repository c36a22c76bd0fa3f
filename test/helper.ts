// Test helpers: config for tests, an app built and closed per test, emulators on free ports.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import nock from 'nock'
import { buildApp, type App } from '../src/app.ts'
import { loadConfig, type Config } from '../src/config.ts'
import { startLocalStack, type LocalStack } from '../src/local/stack.ts'
import type { ServiceDeps } from '../src/app.ts'

export interface Teardown { teardown: (fn: () => unknown) => void }

export const TEST_CREDENTIALS = { accessKeyId: 'AKIDTESTTESTTEST', secretAccessKey: 'test-secret-access-key' }
export const BUCKET = 'leadlink-test'
export const S3_HOST = `https://${BUCKET}.s3.us-east-1.amazonaws.com`
export const SES_HOST = 'https://email.us-east-1.amazonaws.com'

/** Settings of a real deployment (AWS endpoints, which nock intercepts). */
export function testConfig (overrides: Record<string, string> = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    AWS_REGION: 'us-east-1',
    S3_BUCKET: BUCKET,
    SES_FROM: 'Leadlink <hello@leadlink.test>',
    PUBLIC_URL: 'https://leadlink.test',
    TOKEN_SECRET: 'test-token-secret-0123456789abcdef0123456789',
    ADDRESS_KEY: 'test-address-key-0123456789abcdef0123456789',
    CATALOG_REFRESH_SECONDS: '30',
    // A known rate skips GetAccount; the periodic outbox scan is driven by tests that need it.
    SES_MAX_SEND_RATE: '1000',
    OUTBOX_SCAN_SECONDS: '3600',
    // Funnel counts reach S3 when a test flushes (or the app closes), not in the middle of its assertions.
    FUNNEL_FLUSH_SECONDS: '3600',
    // Route tests assert the whole email in the SES request; the template path has its own tests.
    SES_TEMPLATES: 'off',
    // Bot checks and the cooldown are off unless a test is about them.
    BOT_MIN_FILL_SECONDS: '0',
    ADDRESS_COOLDOWN_SECONDS: '0',
    ...overrides
  })
}

export async function build (t: Teardown, config: Config = testConfig(), deps: ServiceDeps = {}): Promise<App> {
  const app = await buildApp(config, { clientOptions: { credentials: TEST_CREDENTIALS }, ...deps }, { logger: process.env.TEST_LOGS ? { level: 'debug' } : false })
  t.teardown(() => app.close())
  return app
}

/** Only loopback may be reached; everything else must be mocked explicitly. */
export function isolateNetwork (t: Teardown): void {
  nock.disableNetConnect()
  nock.enableNetConnect(host => /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/.test(host))
  t.teardown(() => {
    nock.cleanAll()
    nock.enableNetConnect()
  })
}

export async function tempDir (t: Teardown, prefix = 'leadlink-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

export interface Emulators extends LocalStack {
  sesUrl: string
}

/** The real S3 and SES emulators on free ports, with a config pointing at them. */
export async function startEmulators (t: Teardown, overrides: Record<string, string> = {}): Promise<Emulators> {
  const dataDir = await tempDir(t)
  const base = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    PUBLIC_URL: 'http://localhost:3000',
    LOCAL_S3_PORT: '0',
    LOCAL_SES_PORT: '0',
    LOCAL_DATA_DIR: dataDir,
    FUNNEL_FLUSH_SECONDS: '3600',
    BOT_MIN_FILL_SECONDS: '0',
    ADDRESS_COOLDOWN_SECONDS: '0',
    ...overrides
  })
  const stack = await startLocalStack(base)
  t.teardown(() => stack.close())
  return { ...stack, sesUrl: stack.inboxUrl.replace(/\/$/, '') }
}

export interface StoredEmail {
  messageId: string
  from: string
  destination: { to: string[] }
  subject: string
  body: { html: string, text: string }
  headers?: Array<{ name: string, value: string }>
  at: number
}

export async function sentEmails (sesUrl: string): Promise<StoredEmail[]> {
  const res = await fetch(`${sesUrl}/store`)
  return ((await res.json()) as { emails: StoredEmail[] }).emails
}

/** Polls until `check` returns a value, or fails after the deadline (no fixed sleeps). */
export async function eventually<T> (check: () => Promise<T | undefined> | T | undefined, { timeoutMs = 10_000, intervalMs = 50 } = {}): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  while (Date.now() < deadline) {
    try {
      const value = await check()
      if (value !== undefined) return value
    } catch (err) {
      lastError = err
    }
    await new Promise(resolve => setTimeout(resolve, intervalMs))
  }
  throw new Error(`condition not met within ${timeoutMs} ms`, { cause: lastError })
}

export function extractLink (text: string, pattern = /https?:\/\/\S+X-Amz-Signature=\S+/): string {
  const match = text.match(pattern)
  if (!match) throw new Error('no link in the email')
  return match[0]
}

export type { App }
