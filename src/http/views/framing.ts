// Framing for /embed/<slug>: the form on a marketer's own site (FORM_ORIGINS) inside an iframe, so that
// it works without JavaScript and keeps its stamp and same-origin post. Every other page refuses frames.
// https://developer.mozilla.org/en-US/docs/Web/HTTP/Headers/Content-Security-Policy/frame-ancestors
import type { FastifyReply } from 'fastify'

/** Lets the origins that may post the form (PUBLIC_URL's and FORM_ORIGINS) frame this one answer. */
export function allowFraming (reply: FastifyReply, origins: readonly string[]): FastifyReply {
  const csp = reply.getHeader('content-security-policy')
  if (typeof csp === 'string') {
    reply.header('content-security-policy', csp.replace(/frame-ancestors [^;]*/, `frame-ancestors 'self' ${origins.join(' ')}`))
  }
  reply.removeHeader('x-frame-options')
  return reply
}
