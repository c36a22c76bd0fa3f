// Shared by the abuse tests: a witness of every AWS request, and checks on what pages may contain.
import nock from 'nock'
import { S3_HOST, SES_HOST, type Teardown } from '../helper.ts'

export const FORM = { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': 'Mozilla/5.0 (abuse test)' }
export const JSON_ACCEPT = { accept: 'application/json' }

export const form = (fields: Record<string, string> | Array<[string, string]>) => new URLSearchParams(fields).toString()

const pathOf = (req: Request) => { const url = new URL(req.url); return url.pathname + url.search }

const METHODS = ['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS'] as const

export interface AwsWitness {
  /** S3 requests that no allowed mock answered (each answered 403 AccessDenied) */
  s3: string[]
  /** every SES request (each answered 403) */
  ses: string[]
  /** requests to any other host, which nock refused */
  unmatched: string[]
  reset: () => void
}

/**
 * Call after the allowed mocks (mockPointer): nock tries interceptors in the order they were added,
 * so anything the allowed mocks do not answer falls through to these catch-alls and is recorded.
 */
export function witnessAws (t: Teardown): AwsWitness {
  const w: AwsWitness = {
    s3: [],
    ses: [],
    unmatched: [],
    reset () { w.s3.length = 0; w.ses.length = 0; w.unmatched.length = 0 }
  }
  for (const method of METHODS) {
    // nock 15 hands reply functions the Fetch Request.
    nock(S3_HOST).persist().intercept(() => true, method).query(true).reply((req: Request) => {
      w.s3.push(`${method} ${pathOf(req)}`)
      return [403, '<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>', { 'Content-Type': 'application/xml' }]
    })
    nock(SES_HOST).persist().intercept(() => true, method).query(true).reply((req: Request) => {
      w.ses.push(`${method} ${pathOf(req)}`)
      return [403, { message: 'not in this test' }, { 'Content-Type': 'application/json', 'x-amzn-ErrorType': 'AccessDeniedException' }]
    })
  }
  const onNoMatch = (req: { method?: string, path?: string, href?: string, url?: string }) => w.unmatched.push(`${req.method} ${req.href ?? req.url ?? req.path}`)
  nock.emitter.on('no match', onNoMatch)
  t.teardown(() => { nock.emitter.removeListener('no match', onNoMatch) })
  return w
}

/** Signs of a leaked stack trace or internals in a response body. */
export const LEAK = /\n\s+at |\bat [\w$.<>]+ \(|node_modules|\.ts:\d+|\bError: |FST_ERR|AccessDenied|stack/

/** Every `<script` tag in a page that runs inline code: a script without `src`, or with a body. */
export function inlineScripts (page: string): string[] {
  const bad: string[] = []
  for (const m of page.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script\s*>/gi)) {
    const attrs = m[1] ?? ''
    if (!/\ssrc\s*=\s*"[^"]+"/.test(attrs) || (m[2] ?? '').trim() !== '') bad.push(m[0])
  }
  // An opening tag never closed is as bad (the rest of the page becomes its body).
  const opened = page.match(/<script\b/gi)?.length ?? 0
  const closed = [...page.matchAll(/<script\b[^>]*>[\s\S]*?<\/script\s*>/gi)].length
  if (opened !== closed) bad.push(`${opened - closed} unclosed <script>`)
  return bad
}

// A start tag as a browser tokenises it: attribute values quoted with " or ', or bare.
const TAG = /<([a-zA-Z][\w-]*)((?:\s+[^\s"'>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*)\s*\/?>/g
const ATTR = /\s+([^\s"'>/=]+)(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?/g

/** Event-handler attributes (onerror=, onfocus=…) on any tag: script by another door. */
export function inlineHandlers (page: string): string[] {
  const found: string[] = []
  for (const tag of page.matchAll(TAG)) {
    for (const attr of (tag[2] ?? '').matchAll(ATTR)) {
      if (/^on/i.test(attr[1] ?? '')) found.push(`<${tag[1]} ${attr[0].trim()}>`)
    }
  }
  return found
}
