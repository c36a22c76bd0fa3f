// Shared by the brand tests: the app on the emulators with /admin on, a logged-in admin (cookie and
// CSRF token), and an image uploaded the way the admin page's script does it.
import { buildApp } from '../../src/app.ts'
import type { Response } from 'light-my-request'
import { type App, type Emulators, startEmulators, type Teardown } from '../helper.ts'
import { readFile } from 'node:fs/promises'

export const ADMIN_TOKEN = 'brand-admin-token-0123456789'
export const SAMPLE = await readFile(new URL('../../scripts/sample-whitepaper.pdf', import.meta.url))

export interface Admin {
  cookie: string
  csrf: string
  get: (url: string) => Promise<Response>
  /** a form post, as a browser without JavaScript sends it */
  form: (url: string, fields: Record<string, string>) => Promise<Response>
  /** a JSON call, as the admin page's script makes it */
  api: (url: string, payload: object) => Promise<Response>
}

export async function brandApp (t: Teardown, overrides: Record<string, string> = {}): Promise<{ stack: Emulators, app: App }> {
  const stack = await startEmulators(t, { ADMIN_TOKEN, CATALOG_REFRESH_SECONDS: '0', ...overrides })
  const app = await buildApp(stack.config, { clientOptions: { credentials: stack.credentials } }, { logger: false })
  t.teardown(() => app.close())
  return { stack, app }
}

export async function logIn (app: App): Promise<Admin> {
  const login = await app.inject({ method: 'POST', url: '/admin/login', payload: { token: ADMIN_TOKEN } })
  const cookie = String(login.headers['set-cookie']).split(';')[0] ?? ''
  const csrf = /name="_csrf" value="([^"]+)"/.exec((await app.inject({ url: '/admin', headers: { cookie } })).body)?.[1] ?? ''
  return {
    cookie,
    csrf,
    get: url => app.inject({ url, headers: { cookie } }),
    form: (url, fields) => app.inject({
      method: 'POST',
      url,
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ _csrf: csrf, ...fields }).toString()
    }),
    api: (url, payload) => app.inject({ method: 'POST', url, headers: { cookie, accept: 'application/json', 'x-csrf-token': csrf }, payload })
  }
}

/** Ticket, multipart POST to the S3 emulator (file last), verify: answers the verify step's JSON. */
export async function uploadImage (admin: Admin, bytes: Uint8Array, type = 'image/png'): Promise<{ status: number, body: { name?: string, code?: string, message?: string, width?: number, height?: number } }> {
  const ticket = (await admin.api('/admin/brand/images', { size: bytes.byteLength })).json() as { url: string, fields: Record<string, string>, verifyUrl: string }
  const form = new FormData()
  for (const [name, value] of Object.entries(ticket.fields)) form.append(name, name === 'Content-Type' ? type : value)
  form.append('file', new Blob([bytes]))
  const posted = await fetch(ticket.url, { method: 'POST', body: form })
  if (posted.status !== 204) throw new Error(`the emulator refused the upload: ${posted.status}`)
  const verified = await admin.api(ticket.verifyUrl, {})
  return { status: verified.statusCode, body: verified.json() }
}

/** The value of a form field in an HTML page (what a browser would send back). */
export function fieldValue (page: string, name: string): string {
  return /value="([^"]*)"/.exec(new RegExp(`<input[^>]*name="${name}"[^>]*>`).exec(page)?.[0] ?? '')?.[1]?.replace(/&quot;/g, '"').replace(/&#39;/g, '\'').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&') ?? ''
}
