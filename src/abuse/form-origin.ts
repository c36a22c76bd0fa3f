// Which browsers may post the signup form: pages of PUBLIC_URL's origin and of FORM_ORIGINS. A page on
// any other site could otherwise turn each of its visitors into a sender with an IP of its own.
// https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/Sec-Fetch-Site
import type { IncomingHttpHeaders } from 'node:http'

export type OriginVerdict = 'allowed' | 'cross-site'

/**
 * A browser says where a post comes from (Origin, Sec-Fetch-Site); a request with neither is not a
 * browser's (a script, a server-side integration) and is left to the other limits.
 */
export function formOrigin (headers: IncomingHttpHeaders, allowed: readonly string[]): OriginVerdict {
  const origin = headers.origin
  const site = headers['sec-fetch-site']
  // "null": a page whose Referrer-Policy is no-referrer, or a sandboxed frame. Only the browser's own
  // Sec-Fetch-Site (no script can set it) can then say the post came from one of our pages.
  if (origin === 'null') return site === 'same-origin' ? 'allowed' : 'cross-site'
  if (origin !== undefined) {
    if (allowed.includes(origin)) return 'allowed'
    // The host the browser addressed (a browser sets Host itself): same-origin, e.g. 127.0.0.1 beside localhost.
    const host = headers.host
    if (host !== undefined && URL.canParse(origin)) {
      const from = new URL(origin)
      if (URL.canParse(`${from.protocol}//${host}`) && new URL(`${from.protocol}//${host}`).origin === from.origin) return 'allowed'
    }
    return 'cross-site'
  }
  return site === undefined || site === 'same-origin' || site === 'same-site' || site === 'none' ? 'allowed' : 'cross-site'
}
