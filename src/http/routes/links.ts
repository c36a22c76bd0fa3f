// Recipient links from the email: /c (confirm), /u (unsubscribe, RFC 8058 one-click), /d (fresh link).
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import type { App } from '../app-type.ts'
import { AS_IS } from '../as-is.ts'
import { ErrorSchema, type ErrorView, replyWithError, wantsJson } from '../errors.ts'
import { messagePage, actionPage, resultPage } from '../views/pages.ts'
import { TokenError } from '../../recipient-links/tokens.ts'
import { perIpPerMinute } from '../plugins/rate-limit.ts'

export const TokenParamsSchema = Type.Object({
  token: Type.String({ pattern: '^[A-Za-z0-9_-]{1,256}$', description: 'signed token from the email' })
})

export const OneClickBodySchema = Type.Union([
  Type.Object({ 'List-Unsubscribe': Type.Optional(Type.String({ maxLength: 64, description: 'RFC 8058: "One-Click"' })) }),
  Type.String({ maxLength: 4096 }),
  Type.Null()
], { description: 'RFC 8058 sends List-Unsubscribe=One-Click; anything else is ignored' })

const ResultSchema = Type.Object({
  status: Type.String({ description: 'what happened: confirmed, already-confirmed, unsubscribed, …' })
})

// An HTML page: documented as text/html in the OpenAPI document (/docs/json).
const PageSchema = { description: 'HTML page with a single POST button', content: { 'text/html': { schema: Type.String() } } }

const PAGE_HEADERS = {
  'cache-control': 'no-store',
  // Tokens sit in the path: never send them onward in a Referer.
  'referrer-policy': 'no-referrer'
}

function requester (request: FastifyRequest) {
  return { ip: request.ip, userAgent: String(request.headers['user-agent'] ?? '').slice(0, 512) }
}

export default async function linkRoutes (app: App) {
  const { recipientLinks, site } = app
  const ctx = { site }
  // The pages a recipient lands on wear the marketer's brand (a cached read); unreadable, the defaults.
  const branded = async () => ({ site, brand: await app.brand.forPage().catch(() => undefined) })

  // RFC 8058 allows the one-click POST as multipart/form-data too; its content is not needed.
  app.addContentTypeParser('multipart/form-data', { parseAs: 'string', bodyLimit: 4096 }, (_req, body, done) => done(null, body))

  const page = (reply: FastifyReply, status: number, body: string) =>
    reply.code(status).headers(PAGE_HEADERS).type('text/html; charset=utf-8').send(body)

  // A schema error here is a mangled link; token problems get their own page (an expired fresh-link
  // token offers to sign up again).
  const INVALID = new TokenError('token_invalid', 'This link is not valid. Copy the whole address from the email.')
  const errors: ErrorView = {
    site,
    problem: (err, problem) => (err as { validation?: unknown }).validation ? { status: INVALID.statusCode, code: INVALID.code, message: INVALID.message } : problem,
    page: (problem, _request, reply) => {
      if (problem.code !== 'token_invalid' && problem.code !== 'token_expired') return undefined
      const expired = problem.code === 'token_expired'
      reply.headers(PAGE_HEADERS)
      return messagePage(ctx, expired ? 'This link has expired' : 'This link does not work',
        expired ? 'This link is too old to use. Sign up again and we will email you a new one straight away.' : problem.message,
        { href: '/', label: expired ? 'Sign up again' : 'Back to the start page' })
    }
  }
  app.setErrorHandler((err, request, reply) => replyWithError(err, request, reply, errors))

  const tokenRoute = (description: string) => ({
    params: TokenParamsSchema,
    description,
    tags: ['recipient links'],
    response: { 200: ResultSchema, '4xx': ErrorSchema, '5xx': ErrorSchema }
  })

  app.get('/c/:token', { ...AS_IS, schema: { ...tokenRoute('confirm page (a GET never confirms)'), response: { 200: PageSchema, '4xx': ErrorSchema } } }, async (request, reply) => {
    recipientLinks.checkConfirm(request.params.token)
    return page(reply, 200, actionPage(await branded(), {
      title: 'Confirm your subscription',
      text: 'Press the button to receive our newsletter at this address. You can unsubscribe from any email with one click.',
      action: `/c/${request.params.token}`,
      button: 'Yes, subscribe me'
    }))
  })

  app.post('/c/:token', { schema: { ...tokenRoute('confirm the subscription (double opt-in)'), body: OneClickBodySchema } }, async (request, reply) => {
    const outcome = await recipientLinks.confirm(request.params.token, requester(request))
    if (outcome === 'confirmed') app.funnel.record('confirmations', { slug: recipientLinks.checkConfirm(request.params.token).slug, version: '' })
    if (wantsJson(request)) return reply.headers(PAGE_HEADERS).send({ status: outcome })
    const text = {
      confirmed: 'Thank you: you are subscribed to our newsletter.',
      'already-confirmed': 'You had already confirmed: you are subscribed to our newsletter.',
      'unsubscribed-since': 'You unsubscribed after this email was sent, so this button no longer subscribes you. Sign up again if you changed your mind.',
      'not-deliverable': 'We cannot send email to this address, so we cannot subscribe it.',
      gone: 'This subscription no longer exists. Sign up again if you would like our newsletter.'
    }[outcome]
    const ok = outcome === 'confirmed' || outcome === 'already-confirmed'
    return page(reply, 200, resultPage(await branded(), { title: ok ? 'You are subscribed' : 'Not subscribed', text, ...(ok ? {} : { link: { href: '/', label: 'Sign up again' } }) }))
  })

  app.get('/u/:token', { ...AS_IS, schema: { ...tokenRoute('unsubscribe page (a GET never unsubscribes)'), response: { 200: PageSchema, '4xx': ErrorSchema } } }, async (request, reply) => {
    recipientLinks.checkUnsubscribe(request.params.token)
    return page(reply, 200, actionPage(await branded(), {
      title: 'Unsubscribe',
      text: 'Press the button and we will not email this address again, unless you sign up again yourself.',
      action: `/u/${request.params.token}`,
      button: 'Unsubscribe me'
    }))
  })

  // RFC 8058 one-click: the mail provider POSTs "List-Unsubscribe=One-Click", with no cookies and
  // no JavaScript, and expects it to take effect at once. https://www.rfc-editor.org/rfc/rfc8058
  app.post('/u/:token', { schema: { ...tokenRoute('unsubscribe (also the RFC 8058 one-click POST)'), body: OneClickBodySchema } }, async (request, reply) => {
    const body = request.body
    const oneClick = (typeof body === 'object' && body !== null && body['List-Unsubscribe'] === 'One-Click') ||
      (typeof body === 'string' && /List-Unsubscribe[\s\S]*One-Click/.test(body))
    const outcome = await recipientLinks.unsubscribe(request.params.token, { ...requester(request), via: oneClick ? 'one-click' : 'page' })
    if (outcome === 'unsubscribed') app.funnel.record('unsubscribes', { slug: recipientLinks.checkUnsubscribe(request.params.token).slug, version: '' })
    if (wantsJson(request)) return reply.headers(PAGE_HEADERS).send({ status: outcome })
    return page(reply, 200, resultPage(await branded(), {
      title: 'You are unsubscribed',
      text: 'We will not email this address again unless you sign up again yourself.'
    }))
  })

  app.get('/d/:token', {
    ...AS_IS,
    schema: {
      params: TokenParamsSchema,
      description: 'redirects to a freshly minted presigned URL of the current version',
      tags: ['recipient links'],
      response: { 302: Type.Null({ description: 'Location is a presigned S3 URL valid FRESH_LINK_TTL_SECONDS' }), '4xx': ErrorSchema, '5xx': ErrorSchema }
    },
    config: { rateLimit: perIpPerMinute(app) }
  }, async (request, reply) => {
    const fresh = await recipientLinks.renew(request.params.token)
    if (!fresh) {
      return page(reply, 410, messagePage(await branded(), 'This whitepaper is no longer available', 'The whitepaper this link points to has been withdrawn. Have a look at what we offer now.'))
    }
    app.appMetrics.linkMinted('fresh')
    app.funnel.record('freshLinks', fresh.pointer)
    return reply.headers(PAGE_HEADERS).redirect(fresh.link.url, 302)
  })
}
