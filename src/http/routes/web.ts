// Pages for visitors: the landing page per whitepaper, the thank-you page, the stylesheet.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { perIpPerMinute } from '../plugins/rate-limit.ts'
import { Type } from 'typebox'
import type { App } from '../app-type.ts'
import { AS_IS } from '../as-is.ts'
import { PUBLIC_DIR } from '../public-dir.ts'
import { DEFAULT_SLUG, SLUG_PATTERN } from '../../whitepapers/keys.ts'
import { FORM_PAGE_HEADERS, landingPage, thanksPage } from '../views/pages.ts'
import { allowFraming } from '../views/framing.ts'
import brandAssets from './brand-assets.ts'

const CSS = readFileSync(new URL('site.css', PUBLIC_DIR), 'utf8')
// Progressive enhancement of the form (submits in place); the page works without it.
const SUBSCRIBE_JS = readFileSync(new URL('subscribe.js', PUBLIC_DIR), 'utf8')

export const SlugParamsSchema = Type.Object({
  slug: Type.String({ pattern: SLUG_PATTERN, description: 'whitepaper slug' })
})

export const ThanksQuerySchema = Type.Object({
  slug: Type.Optional(Type.String({ pattern: SLUG_PATTERN, description: 'whitepaper the visitor asked for' })),
  embed: Type.Optional(Type.Literal('1', { description: 'shown inside /embed/<slug>\'s frame' }))
})

const HtmlSchema = Type.String({ description: 'HTML page' })

const AssetSchema = Type.String({ description: 'static asset' })
// Pages are documented in the OpenAPI document as text/html, under their own tag.
const PAGE = { tags: ['pages'], produces: ['text/html'] }

export default async function webRoutes (app: App) {
  const { catalog, site, formStamps, config } = app
  const captcha = config.signup.captcha === 'altcha'
  // The whitepaper, the site-wide brand and the page's extras: three cached reads, side by side.
  // A brand that cannot be read (S3 down at start-up, a damaged record) leaves the page in the defaults.
  const orDefault = <T>(read: Promise<T>): Promise<T | undefined> => read.catch(err => {
    app.log.warn({ err }, 'brand settings unreadable: the page shows the defaults')
    return undefined
  })
  const landing = async (slug: string) => {
    const [pointer, pageBrand, extras] = await Promise.all([catalog.require(slug), orDefault(app.brand.forPage()), orDefault(app.brand.extras(slug))])
    return { pointer, brand: pageBrand, extras }
  }
  await app.register(brandAssets)

  app.get('/', { ...AS_IS, schema: { ...PAGE, summary: 'Landing page of the default whitepaper', response: { 200: HtmlSchema } } }, async (request, reply) => {
    const { pointer, brand, extras } = await landing(DEFAULT_SLUG)
    app.funnel.view(request, pointer)
    return reply.type('text/html; charset=utf-8').headers(FORM_PAGE_HEADERS).send(landingPage({ site, brand }, { pointer, extras, stamp: formStamps.issue(), captcha }))
  })

  app.get('/w/:slug', { ...AS_IS, schema: { ...PAGE, summary: 'Landing page of another whitepaper', params: SlugParamsSchema, response: { 200: HtmlSchema } } }, async (request, reply) => {
    const { pointer, brand, extras } = await landing(request.params.slug)
    app.funnel.view(request, pointer)
    return reply.type('text/html; charset=utf-8').headers(FORM_PAGE_HEADERS).send(landingPage({ site, brand }, { pointer, extras, stamp: formStamps.issue(), captcha }))
  })

  // The form alone, to be framed by the marketer's own pages (FORM_ORIGINS): no JavaScript needed there.
  app.get('/embed/:slug', { ...AS_IS, schema: { ...PAGE, summary: 'The form of a whitepaper, for an iframe on a FORM_ORIGINS page', params: SlugParamsSchema, response: { 200: HtmlSchema } } }, async (request, reply) => {
    const { pointer, brand, extras } = await landing(request.params.slug)
    app.funnel.view(request, pointer)
    return allowFraming(reply, config.http.formOrigins).type('text/html; charset=utf-8').headers(FORM_PAGE_HEADERS)
      .send(landingPage({ site, embed: true, brand }, { pointer, extras, stamp: formStamps.issue(), captcha }))
  })

  app.get('/thanks', { ...AS_IS, schema: { ...PAGE, summary: 'Thank-you page after a form post', querystring: ThanksQuerySchema, response: { 200: HtmlSchema } } }, async (request, reply) => {
    const slug = request.query.slug ?? DEFAULT_SLUG
    // A thank-you page shows even when S3 hiccups: the brand and the text are then the defaults.
    const [pointer, pageBrand, extras] = await Promise.all([catalog.current(slug).catch(() => null), orDefault(app.brand.forPage()), orDefault(app.brand.extras(slug))])
    const embed = request.query.embed === '1'
    if (embed) allowFraming(reply, config.http.formOrigins)
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store')
      .send(thanksPage({ site, embed, brand: pageBrand }, pointer, extras))
  })

  app.get('/assets/site.css', { ...AS_IS, schema: { hide: true, response: { 200: AssetSchema } }, logLevel: 'warn' }, async (_request, reply) => {
    return reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(CSS)
  })

  if (captcha) {
    // The ALTCHA widget (a web component), served from the npm package: no third party involved.
    const widget = readFileSync(fileURLToPath(import.meta.resolve('altcha')), 'utf8')
    app.get('/assets/altcha.js', { ...AS_IS, schema: { hide: true, response: { 200: AssetSchema } }, logLevel: 'warn' }, async (_request, reply) => {
      return reply.type('text/javascript; charset=utf-8').header('cache-control', 'public, max-age=3600').send(widget)
    })
    app.get('/altcha/challenge', { schema: { hide: true }, config: { rateLimit: perIpPerMinute(app, 6) } }, async (request, reply) => {
      reply.header('cache-control', 'no-store')
      return await app.altcha!.challengeHandler(request, reply)
    })
  }

  app.get('/assets/subscribe.js', { ...AS_IS, schema: { hide: true, response: { 200: AssetSchema } }, logLevel: 'warn' }, async (_request, reply) => {
    return reply.type('text/javascript; charset=utf-8').header('cache-control', 'public, max-age=3600').send(SUBSCRIBE_JS)
  })
}
