// POST /subscribe: the landing-page form (303 to a thank-you page) and its JSON twin (202).
import type { FastifyError } from 'fastify'
import { Type } from 'typebox'
import type { App } from '../app-type.ts'
import { ValidationError } from '../../errors.ts'
import { ErrorSchema, type ErrorView, replyWithError, validationToDomain, wantsJson } from '../errors.ts'
import { FORM_PAGE_HEADERS, landingPage } from '../views/pages.ts'
import { allowFraming } from '../views/framing.ts'
import { perIpPerMinute } from '../plugins/rate-limit.ts'
import { DEFAULT_SLUG, SLUG_PATTERN } from '../../whitepapers/keys.ts'
import { signupErrorOutcome } from '../plugins/metrics.ts'
import type { StampVerdict } from '../../abuse/form-stamp.ts'
import { formOrigin } from '../../abuse/form-origin.ts'
import { DomainError } from '../../errors.ts'
import { parseAddress } from '../../subscribers/address.ts'

export const SubscribeBodySchema = Type.Object({
  email: Type.String({ maxLength: 1024, description: 'the visitor\'s email address' }),
  slug: Type.Optional(Type.String({ pattern: SLUG_PATTERN, description: `whitepaper to send (default "${DEFAULT_SLUG}")` })),
  stamp: Type.Optional(Type.String({ maxLength: 64, description: 'the landing page form\'s hidden `stamp` (its signed render time); required unless BOT_MIN_FILL_SECONDS=0' })),
  website: Type.Optional(Type.String({ maxLength: 1024, description: 'honeypot: people leave it empty' })),
  altcha: Type.Optional(Type.String({ maxLength: 8192, description: 'ALTCHA solution (CAPTCHA=altcha)' })),
  embed: Type.Optional(Type.Literal('1', { description: 'posted from /embed/<slug> (a frame on a FORM_ORIGINS page): the answer stays frameable' }))
})

export const SubscribeAcceptedSchema = Type.Object({
  status: Type.Literal('accepted', { description: 'the signup is recorded and the email is on its way' }),
  message: Type.String({ description: 'what to tell the visitor' })
})

export default async function subscribeRoutes (app: App) {
  const { signup, catalog, site, formStamps, config, altcha } = app
  // A bad address re-renders the form with the message beside the field (HTML) or a code (JSON).
  const errors: ErrorView = {
    site,
    page: async (problem, request, reply, err) => {
      if (!(err instanceof ValidationError)) return undefined
      const body = (request.body ?? {}) as { email?: unknown, slug?: unknown, embed?: unknown }
      const pointer = await catalog.current(typeof body.slug === 'string' ? body.slug : DEFAULT_SLUG).catch(() => null)
      if (!pointer) return undefined
      const email = typeof body.email === 'string' ? body.email.slice(0, 254) : ''
      const embed = body.embed === '1'
      if (embed) allowFraming(reply, config.http.formOrigins)
      reply.headers(FORM_PAGE_HEADERS)
      // The form again as it was shown: in the brand, with the page's cover and learn-list (defaults if unreadable).
      const [brand, extras] = await Promise.all([app.brand.forPage().catch(() => undefined), app.brand.extras(pointer.slug).catch(() => undefined)])
      return landingPage({ site, embed, brand }, { pointer, extras, email, error: { field: problem.field ?? '', message: problem.message }, stamp: formStamps.issue(), captcha: altcha !== undefined })
    }
  }
  // Fastify parses text/plain by default; the form accepts only what it documents (415 otherwise).
  app.removeContentTypeParser('text/plain')

  app.post('/subscribe', {
    schema: {
      summary: 'Sign up and get the whitepaper by email',
      description: 'A form post (application/x-www-form-urlencoded) answers 303 to the thank-you page, or 422 with the form re-rendered (text/html). ' +
        'With Accept: application/json (or a JSON body) it answers 202, or an error with a stable code (email_required, email_invalid, invalid_request, whitepaper_not_found, too_many_requests, unavailable). ' +
        'A browser\'s post from another site (Origin or Sec-Fetch-Site) is a 403 cross_site_form unless FORM_ORIGINS lists that origin.',
      tags: ['signup'],
      consumes: ['application/x-www-form-urlencoded', 'application/json'],
      body: SubscribeBodySchema,
      response: {
        202: SubscribeAcceptedSchema,
        303: Type.Null({ description: 'form post accepted: Location is the thank-you page' }),
        422: { ...ErrorSchema, description: 'invalid input: code email_required, email_invalid or invalid_request; field names the input at fault' },
        '4xx': ErrorSchema,
        '5xx': ErrorSchema
      }
    },
    attachValidation: true,
    config: { rateLimit: perIpPerMinute(app) },
    // Before the body is even read: a page on another site may not post the form.
    onRequest: async request => {
      if (formOrigin(request.headers, config.http.formOrigins) === 'cross-site') {
        request.log.info('form post from another site refused')
        throw new DomainError('cross_site_form', 'This form can only be sent from our own pages. Open the form on our site and send it from there.', 403)
      }
    },
    onError: async (_request, _reply, err) => { app.appMetrics.signup(signupErrorOutcome(err)) },
    errorHandler: (err, request, reply) => replyWithError(err, request, reply, errors)
  }, async (request, reply) => {
    if (request.validationError) throw validationToDomain(request.validationError as FastifyError)
    const slug = request.body.slug ?? DEFAULT_SLUG
    const thanks = new URLSearchParams({ ...(slug === DEFAULT_SLUG ? {} : { slug }), ...(request.body.embed ? { embed: '1' } : {}) }).toString()
    const accepted = () => wantsJson(request)
      ? reply.code(202).send({ status: 'accepted' as const, message: 'Check your inbox: the whitepaper is on its way.' })
      : reply.redirect(thanks ? `/thanks?${thanks}` : '/thanks', 303)

    // Bots get the answer people get, and nothing is written or sent.
    const stamp = request.body.stamp
    let bot = request.body.website
      ? 'honeypot'
      : config.signup.botMinFillMs > 0 ? botStamp(formStamps.check(stamp, config.signup.botMinFillMs)) : undefined
    // A stamp is used up by the first valid address sent with it (a typo's 422 leaves it usable):
    // one page view, one signup, on every instance when Redis is shared.
    if (!bot && config.signup.botMinFillMs > 0) {
      parseAddress(request.body.email)
      if (!await formStamps.consume(stamp as string)) bot = 'stamp_replayed'
    }
    if (bot) {
      request.log.info({ reason: bot }, 'signup looks automated: ignored')
      app.appMetrics.signup('bot')
      return accepted()
    }
    if (altcha) {
      const failure = await altcha.verify(request.body.altcha)
      if (failure) {
        request.log.info({ reason: failure }, 'ALTCHA verification failed')
        throw new ValidationError('captcha_failed', 'Please wait for the “I\'m not a robot” check to finish, then send the form again.', 'altcha')
      }
    }
    const result = await signup({
      email: request.body.email,
      slug,
      ip: request.ip,
      userAgent: String(request.headers['user-agent'] ?? '').slice(0, 512)
    }, request.log)
    app.appMetrics.signup(result.outcome)
    app.funnel.recordCurrent('submissions', slug)
    if (result.outcome === 'queued') app.funnel.recordCurrent('accepted', slug)
    return accepted()
  })
}

/** The stamp's verdict as a reason to ignore the signup, or undefined when it looks human. */
function botStamp (verdict: StampVerdict): string | undefined {
  return verdict === 'ok' ? undefined : `stamp_${verdict}`
}
