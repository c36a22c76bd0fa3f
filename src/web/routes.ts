// Pages for visitors: the landing page per whitepaper, the thank-you page, the stylesheet.
import { readFileSync } from 'node:fs'
import { Type } from 'typebox'
import type { App } from '../app.ts'
import { DEFAULT_SLUG, SLUG_PATTERN } from '../whitepapers/catalog.ts'
import { landingPage, thanksPage } from './pages.ts'

const CSS = readFileSync(new URL('../../public/site.css', import.meta.url))

export const SlugParamsSchema = Type.Object({
  slug: Type.String({ pattern: SLUG_PATTERN, description: 'whitepaper slug' })
})

export const ThanksQuerySchema = Type.Object({
  slug: Type.Optional(Type.String({ pattern: SLUG_PATTERN, description: 'whitepaper the visitor asked for' }))
})

const HtmlSchema = Type.String({ description: 'HTML page' })

export default async function webRoutes (app: App) {
  const { catalog, site } = app.services

  app.get('/', { schema: { response: { 200: HtmlSchema } } }, async (_request, reply) => {
    const pointer = await catalog.require(DEFAULT_SLUG)
    return reply.type('text/html; charset=utf-8').send(landingPage({ site }, { pointer }))
  })

  app.get('/w/:slug', { schema: { params: SlugParamsSchema, response: { 200: HtmlSchema } } }, async (request, reply) => {
    const pointer = await catalog.require(request.params.slug)
    return reply.type('text/html; charset=utf-8').send(landingPage({ site }, { pointer }))
  })

  app.get('/thanks', { schema: { querystring: ThanksQuerySchema, response: { 200: HtmlSchema } } }, async (request, reply) => {
    const pointer = await catalog.current(request.query.slug ?? DEFAULT_SLUG).catch(() => null)
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(thanksPage({ site }, pointer))
  })

  app.get('/assets/site.css', { logLevel: 'warn' }, async (_request, reply) => {
    return reply.type('text/css; charset=utf-8').header('cache-control', 'public, max-age=3600').send(CSS)
  })
}
