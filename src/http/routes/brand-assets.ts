// The brand's files, served by the app itself so that pages make no third-party request and stay within
// the CSP (style-src and img-src 'self'): /assets/brand.css, the logo and each whitepaper's cover.
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import type { App } from '../app-type.ts'
import { AS_IS } from '../as-is.ts'
import { NotFoundError } from '../../errors.ts'
import type { BrandImage } from '../../brand/model.ts'
import { brandCss, cssVersion, imageVersion } from '../../brand/view.ts'
import { SLUG_PATTERN } from '../../whitepapers/keys.ts'

const VersionQuery = Type.Object({
  v: Type.Optional(Type.String({ maxLength: 64, description: 'content version from the page; a current one may be cached for a year' }))
})
const FileSchema = Type.String({ description: 'the file' })
const NotModified = Type.Null({ description: 'not modified (If-None-Match)' })
const ASSET = { hide: true, querystring: VersionQuery }

// A URL carrying the current version never changes content; any other is revalidated (ETag).
const FOREVER = 'public, max-age=31536000, immutable'
const REVALIDATE = 'public, max-age=0, must-revalidate'

function notModified (request: FastifyRequest, etag: string): boolean {
  const given = request.headers['if-none-match']
  return typeof given === 'string' && given.split(',').some(tag => tag.trim().replace(/^W\//, '') === etag)
}

export default async function brandAssets (app: App) {
  const { brand } = app

  async function sendImage (request: FastifyRequest<{ Querystring: { v?: string } }>, reply: FastifyReply, image: BrandImage | undefined) {
    if (!image) throw new NotFoundError('image_not_found', 'There is no image here.')
    const version = imageVersion(image)
    const etag = `"${image.name.slice(0, 64)}"`
    reply.header('etag', etag).header('cache-control', request.query.v === version ? FOREVER : REVALIDATE)
    // The ETag is the bytes' sha256: a browser's copy is checked without reading S3.
    if (notModified(request, etag)) return reply.code(304).send()
    const file = await brand.openImage(image)
    if (file.length !== undefined) reply.header('content-length', file.length)
    return reply.type(file.contentType).header('x-content-type-options', 'nosniff').send(file.body)
  }

  app.get('/assets/brand.css', {
    ...AS_IS,
    logLevel: 'warn',
    schema: { ...ASSET, response: { 200: FileSchema, 304: NotModified } }
  }, async (request, reply) => {
    const css = brandCss(await brand.settings())
    const version = cssVersion(css)
    const etag = `"${version}"`
    reply.header('etag', etag).header('cache-control', request.query.v === version ? FOREVER : REVALIDATE)
    if (notModified(request, etag)) return reply.code(304).send(null)
    return reply.type('text/css; charset=utf-8').send(css)
  })

  app.get('/brand/logo', {
    ...AS_IS,
    logLevel: 'warn',
    schema: { ...ASSET, response: { 200: FileSchema, 304: NotModified } }
  }, async (request, reply) => await sendImage(request, reply, (await brand.settings()).logo))

  app.get('/w/:slug/cover', {
    ...AS_IS,
    logLevel: 'warn',
    schema: {
      ...ASSET,
      params: Type.Object({ slug: Type.String({ pattern: SLUG_PATTERN, description: 'whitepaper slug' }) }),
      response: { 200: FileSchema, 304: NotModified }
    }
  }, async (request, reply) => await sendImage(request, reply, (await brand.page(request.params.slug)).cover))
}
