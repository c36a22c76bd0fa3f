// The self-service privacy page from the email's footer (GDPR Art. 15, 17, 20): /p/<token> offers a
// JSON download of everything held and an erasure behind a confirmation (a POST: mail scanners follow
// links, they do not press buttons). Rate-limited per IP like /d/; the token names a record key, never
// an address, and the page is the same for every valid token, whatever is on file.
import type { FastifyReply } from 'fastify'
import { Type } from 'typebox'
import type { App } from '../app-type.ts'
import { AS_IS } from '../as-is.ts'
import { ErrorSchema, type ErrorView, replyWithError } from '../errors.ts'
import { perIpPerMinute } from '../plugins/rate-limit.ts'
import { confirmErasurePage, erasedPage, privacyHomePage } from '../views/privacy-pages.ts'
import { messagePage } from '../views/pages.ts'
import { ABOUT } from '../../subscribers/personal-data.ts'
import { TokenParamsSchema } from './links.ts'

const PAGE_HEADERS = {
  'cache-control': 'no-store',
  // The token sits in the path: never send it onward in a Referer.
  'referrer-policy': 'no-referrer'
}

const HtmlPage = { description: 'HTML page', content: { 'text/html': { schema: Type.String() } } }
const FormBody = Type.Union([Type.Object({}, { additionalProperties: Type.String({ maxLength: 64 }) }), Type.Null()], { description: 'the button\'s form (no fields are needed)' })
const EraseBody = Type.Object({
  confirm: Type.Optional(Type.String({ maxLength: 16, description: '"erase", from the confirmation page\'s button' }))
})

export default async function privacyRoutes (app: App) {
  const { recipientLinks, rights, site } = app
  const ctx = { site }
  // In the marketer's brand (a cached read of the site-wide settings, the same for every token).
  const branded = async () => ({ site, brand: await app.brand.forPage().catch(() => undefined) })
  const rateLimit = perIpPerMinute(app)

  const page = (reply: FastifyReply, status: number, body: string) =>
    reply.code(status).headers(PAGE_HEADERS).type('text/html; charset=utf-8').send(body)

  const errors: ErrorView = {
    site,
    problem: (err, problem) => (err as { validation?: unknown }).validation
      ? { status: 400, code: 'token_invalid', message: 'This link is not valid. Copy the whole address from the email.' }
      : problem,
    page: (problem, _request, reply) => {
      if (problem.code !== 'token_invalid' && problem.code !== 'token_expired') return undefined
      reply.headers(PAGE_HEADERS)
      return problem.code === 'token_expired'
        ? messagePage(ctx, 'This link has expired', 'For your security this link works for a limited time. Use the link in a more recent email from us, or reply to one of our emails and we will send you your data or erase it.')
        : messagePage(ctx, 'This link does not work', problem.message)
    }
  }
  app.setErrorHandler((err, request, reply) => replyWithError(err, request, reply, errors))

  const schema = (description: string, extra: object = {}) => ({
    params: TokenParamsSchema,
    description,
    tags: ['recipient links'],
    response: { 200: HtmlPage, '4xx': ErrorSchema, '5xx': ErrorSchema },
    ...extra
  })

  // Checks the token only: nothing is read, so the page and its timing are the same whatever is on file.
  app.get('/p/:token', { ...AS_IS, schema: schema('the privacy page: download or erase one\'s data'), config: { rateLimit } }, async (request, reply) => {
    recipientLinks.checkPrivacy(request.params.token)
    return page(reply, 200, privacyHomePage(await branded(), request.params.token))
  })

  app.post('/p/:token/data', {
    ...AS_IS,
    schema: schema('everything held about the address, as a JSON download', {
      body: FormBody,
      response: { 200: Type.String({ description: 'application/json attachment (the same JSON as `npm run signups -- show`)' }), '4xx': ErrorSchema, '5xx': ErrorSchema }
    }),
    config: { rateLimit }
  }, async (request, reply) => {
    const claims = recipientLinks.checkPrivacy(request.params.token)
    const data = await rights.show({ key: claims.addressHash })
    return reply
      .headers(PAGE_HEADERS)
      .type('application/json; charset=utf-8')
      .header('content-disposition', 'attachment; filename="my-data.json"')
      .send(JSON.stringify(data ?? { schemaVersion: 1, about: ABOUT, held: null, note: 'We hold nothing about this address.' }, null, 2))
  })

  app.get('/p/:token/erase', { ...AS_IS, schema: schema('asks to confirm the erasure (a GET never erases)'), config: { rateLimit } }, async (request, reply) => {
    recipientLinks.checkPrivacy(request.params.token)
    return page(reply, 200, confirmErasurePage(await branded(), request.params.token))
  })

  app.post('/p/:token/erase', {
    ...AS_IS,
    schema: {
      params: TokenParamsSchema,
      description: 'erases the address everywhere (the confirmation page\'s button)',
      tags: ['recipient links'],
      body: EraseBody,
      response: { 200: HtmlPage, 303: Type.Null({ description: 'no confirmation: back to the confirmation page' }), '4xx': ErrorSchema, '5xx': ErrorSchema }
    },
    config: { rateLimit }
  }, async (request, reply) => {
    const { token } = request.params
    const claims = recipientLinks.checkPrivacy(token)
    if (request.body.confirm !== 'erase') return reply.headers(PAGE_HEADERS).redirect(`/p/${token}/erase`, 303)
    const result = await rights.erase({ key: claims.addressHash })
    request.log.info({ addressKey: result.key.slice(0, 12), found: result.found }, 'a person erased their data')
    // The same page whether there was anything: the holder of this link learns nothing new.
    return page(reply, 200, erasedPage(await branded()))
  })
}
