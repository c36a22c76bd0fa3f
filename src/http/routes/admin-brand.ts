// /admin/brand (site name, logo, accent), /admin/w/<slug>/page (cover, learn-list, thank-you text) and
// /admin/w/<slug>/embed (the copy-paste form); registered inside the admin routes (log-in, CSRF, CSP).
import { readFileSync } from 'node:fs'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import type { App } from '../app-type.ts'
import { AS_IS } from '../as-is.ts'
import { PUBLIC_DIR } from '../public-dir.ts'
import { validationToDomain, wantsJson } from '../errors.ts'
import { ConflictError, ValidationError } from '../../errors.ts'
import { checkAccent } from '../../brand/contrast.ts'
import { ALT_MAX, type BrandImage, LEARN_ITEM_MAX, LEARN_MAX_ITEMS, SITE_NAME_MAX, THANKS_MAX } from '../../brand/model.ts'
import { createImageUploads, UPLOAD_ID_PATTERN } from '../../brand/uploads.ts'
import { embedSnippets } from '../../brand/snippets.ts'
import { brandPage, embedPage, type FormError, pageSettingsPage } from '../views/admin-brand.ts'
import { CsrfBody, Errors, HtmlSchema, RedirectSchema, SlugParams, Tags } from './admin-schemas.ts'
import type { SessionRoutesOptions } from './admin-session.ts'

const SCRIPT = readFileSync(new URL('admin-brand.js', PUBLIC_DIR))

const Etag = Type.String({ maxLength: 200, description: 'the ETag of the settings the form was loaded with (empty: none saved yet); a save against another is a 409' })
const Remove = Type.Optional(Type.Literal('1', { description: 'remove the image' }))
const ImageName = Type.Optional(Type.String({ maxLength: 100, description: 'a checked image (the verify step\'s name), or empty for none' }))
const Alt = Type.Optional(Type.String({ maxLength: ALT_MAX, description: 'alt text, required with an image' }))

export const BrandBody = Type.Object({
  ...CsrfBody.properties,
  etag: Etag,
  siteName: Type.String({ maxLength: SITE_NAME_MAX, description: 'shown instead of the host; empty for the host' }),
  accent: Type.String({ maxLength: 32, description: 'hex colour, at least 4.5:1 against white' }),
  logo: ImageName,
  logoAlt: Alt,
  removeLogo: Remove
})

export const PageBody = Type.Object({
  ...CsrfBody.properties,
  etag: Etag,
  cover: ImageName,
  coverAlt: Alt,
  removeCover: Remove,
  // Longer than allowed, so that the page can say by how much (checked below).
  learn: Type.String({ maxLength: 8 * LEARN_MAX_ITEMS * LEARN_ITEM_MAX, description: `one point per line, at most ${LEARN_MAX_ITEMS} of ${LEARN_ITEM_MAX} characters` }),
  thanks: Type.String({ maxLength: 4 * THANKS_MAX, description: `plain text shown after a signup, at most ${THANKS_MAX} characters` })
})

const ImageTicketSchema = Type.Object({
  id: Type.String({ description: 'upload id, for the verify step' }),
  key: Type.String({ description: 'the staging key the POST may write (under uploads/brand/)' }),
  url: Type.String({ description: 'where to POST the multipart form (the bucket endpoint)' }),
  fields: Type.Record(Type.String(), Type.String(), { description: 'form fields to send, in order, before the file (Content-Type may be replaced by the file\'s image/* type)' }),
  expiresAt: Type.String({ description: 'when the presigned POST stops working (ISO 8601)' }),
  maxBytes: Type.Integer({ description: 'largest file the policy accepts' }),
  verifyUrl: Type.String({ description: 'POST here once the upload finished' })
})

const CheckedImageSchema = Type.Object({
  name: Type.String({ description: 'the checked image, to send as `logo` or `cover` with the form' }),
  type: Type.String({ description: 'png, jpg or webp, from the bytes' }),
  width: Type.Integer({ description: 'pixels' }),
  height: Type.Integer({ description: 'pixels' }),
  size: Type.Integer({ description: 'bytes' })
})

const FlashQuery = Type.Object({ saved: Type.Optional(Type.Literal('1', { description: 'just saved (notice)' })) })

/** Site names and alt texts are one line of text: control characters and runs of spaces go. */
function oneLine (value: string | undefined): string {
  return (value ?? '').replace(/[\p{Cc}\p{Cf}\u2028\u2029]+/gu, ' ').replace(/\s+/g, ' ').trim()
}

/** Multi-line plain text: line breaks kept, other control characters removed. */
function plainText (value: string): string {
  return value.replace(/\r\n?/g, '\n').replace(/[^\P{Cc}\n]|\p{Cf}/gu, '').trim()
}

const FIELD_MESSAGES: Record<string, string> = {
  siteName: `The site name is at most ${SITE_NAME_MAX} characters.`,
  accent: 'The accent colour is a hex colour like #1d4ed8.',
  logoAlt: `The alt text is at most ${ALT_MAX} characters.`,
  coverAlt: `The alt text is at most ${ALT_MAX} characters.`,
  learn: `At most ${LEARN_MAX_ITEMS} points of ${LEARN_ITEM_MAX} characters each.`,
  thanks: `The thank-you text is at most ${THANKS_MAX} characters.`
}

function schemaError (err: Error | undefined): ValidationError | undefined {
  if (!err) return undefined
  const domain = validationToDomain(err as FastifyError)
  const field = domain.field ?? ''
  return FIELD_MESSAGES[field] ? new ValidationError('invalid_request', FIELD_MESSAGES[field] as string, field) : domain
}

function requireAlt (alt: string, field: string, what: string): string {
  if (!alt) throw new ValidationError('alt_required', `Describe the ${what} in its alt text: people who cannot see it are read this instead.`, field)
  return alt
}

export default async function adminBrandRoutes (app: App, opts: Pick<SessionRoutesOptions, 'ctx' | 'page'>) {
  const { brand, catalog, config, aws, site } = app
  const { ctx, page } = opts
  const uploads = createImageUploads({ s3: aws.s3, bucket: config.aws.s3.bucket })

  /** A refused form is shown again with what was typed and the message beside its field (409 and 422). */
  async function refused (request: FastifyRequest, reply: FastifyReply, err: unknown, render: (error: FormError) => string): Promise<FastifyReply> {
    if (!(err instanceof ValidationError || err instanceof ConflictError) || wantsJson(request)) throw err
    request.log.info({ code: err.code }, 'admin brand form refused')
    const field = err instanceof ValidationError ? err.field ?? '' : ''
    return page(reply, render({ field, message: err.message }), err.statusCode)
  }

  /** The image the form names: the stored one (alt text updated), a newly checked one, or none. */
  async function chosenImage (stored: BrandImage | undefined, name: string | undefined, alt: string | undefined, remove: boolean, field: 'logo' | 'cover'): Promise<BrandImage | undefined> {
    const chosen = remove ? '' : (name ?? '').trim()
    if (!chosen) return undefined
    const text = requireAlt(oneLine(alt), `${field}Alt`, field)
    if (stored?.name === chosen) return { ...stored, alt: text }
    return await brand.image(chosen, text, field)
  }

  app.get('/admin/assets/brand.js', { schema: { hide: true, tags: Tags }, logLevel: 'warn' }, async (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(SCRIPT))

  app.get('/admin/brand', {
    ...AS_IS,
    schema: { summary: 'The brand: site name, logo, accent colour', tags: Tags, querystring: FlashQuery, response: { 200: HtmlSchema, 303: RedirectSchema, ...Errors } }
  }, async (request, reply) => {
    const { value, etag } = await brand.read()
    const form = { etag, siteName: value.siteName, accent: value.accent, logo: value.logo?.name ?? '', logoAlt: value.logo?.alt ?? '', current: value.logo }
    const flash = request.query.saved ? `Saved. Every page and email shows it within ${config.catalog.refreshMs / 1000} seconds.` : undefined
    return page(reply, brandPage(ctx(request), { form, host: site, flash }))
  })

  app.post('/admin/brand', {
    ...AS_IS,
    attachValidation: true,
    schema: {
      summary: 'Save the brand',
      description: 'The accent must keep white text at 4.5:1 or more (422 accent_contrast names the ratio); a logo needs alt text (422 alt_required) and must be an image checked by POST /admin/brand/images/:id/verify. Saved with If-Match on `etag`: a concurrent save is a 409 brand_conflict, not a lost update.',
      tags: Tags,
      body: BrandBody,
      response: { 303: RedirectSchema, 409: HtmlSchema, 422: HtmlSchema, ...Errors }
    }
  }, async (request, reply) => {
    const body = (request.body ?? {}) as Partial<Record<keyof typeof BrandBody.properties, string>>
    const current = await brand.read()
    try {
      const invalid = schemaError(request.validationError)
      if (invalid) throw invalid
      const accent = checkAccent(body.accent ?? '')
      const logo = await chosenImage(current.value.logo, body.logo, body.logoAlt, body.removeLogo === '1', 'logo')
      await brand.save({ siteName: oneLine(body.siteName), accent, ...(logo ? { logo } : {}) }, body.etag ?? '')
    } catch (err) {
      const form = { etag: String(body.etag ?? ''), siteName: String(body.siteName ?? ''), accent: String(body.accent ?? ''), logo: String(body.logo ?? ''), logoAlt: String(body.logoAlt ?? ''), current: current.value.logo }
      return await refused(request, reply, err, error => brandPage(ctx(request), { form, host: site, error }))
    }
    request.log.info('admin saved the brand')
    return reply.redirect('/admin/brand?saved=1', 303)
  })

  app.post('/admin/brand/images', {
    schema: {
      summary: 'Start a browser upload of a brand image (logo or cover)',
      description: 'Answers a presigned POST for one staging key under uploads/brand/: image/*, at most 2 MB, valid 10 minutes. The bytes are checked by the verify step.',
      tags: Tags,
      body: Type.Object({ size: Type.Integer({ minimum: 1, description: 'the file\'s size in bytes' }) }),
      response: { 201: ImageTicketSchema, ...Errors }
    }
  }, async (request, reply) => {
    const ticket = await uploads.start({ size: request.body.size })
    return reply.code(201).send({ ...ticket, verifyUrl: `/admin/brand/images/${ticket.id}/verify` })
  })

  app.post('/admin/brand/images/:id/verify', {
    schema: {
      summary: 'Check an uploaded brand image by its bytes',
      description: 'PNG, JPEG or WebP only (by signature and header, not by name or declared type), at most 2 MB, 4000 pixels a side and 12 megapixels; stored under brand/images/<sha256>.<ext>.',
      tags: Tags,
      params: Type.Object({ id: Type.String({ pattern: UPLOAD_ID_PATTERN, description: 'upload id from the ticket' }) }),
      body: CsrfBody,
      response: { 200: CheckedImageSchema, ...Errors }
    }
  }, async request => {
    const image = await uploads.verify(request.params.id)
    request.log.info({ type: image.type, width: image.width, height: image.height, size: image.size }, 'admin brand image checked')
    return { name: image.name, type: image.type, width: image.width, height: image.height, size: image.size }
  })

  const pageForm = (value: Awaited<ReturnType<typeof brand.readPage>>) => ({
    etag: value.etag,
    cover: value.value.cover?.name ?? '',
    coverAlt: value.value.cover?.alt ?? '',
    learn: value.value.learn.join('\n'),
    thanks: value.value.thanks,
    current: value.value.cover
  })

  app.get('/admin/w/:slug/page', {
    ...AS_IS,
    schema: { summary: 'A whitepaper\'s landing page: cover, what the reader learns, thank-you text', tags: Tags, params: SlugParams, querystring: FlashQuery, response: { 200: HtmlSchema, 303: RedirectSchema, ...Errors } }
  }, async (request, reply) => {
    const { slug } = request.params
    const [stored, pointer] = await Promise.all([brand.readPage(slug), catalog.read(slug)])
    const flash = request.query.saved ? `Saved. The landing page shows it within ${config.catalog.refreshMs / 1000} seconds.` : undefined
    return page(reply, pageSettingsPage(ctx(request), { slug, title: pointer?.title ?? slug, form: pageForm(stored), flash }))
  })

  app.post('/admin/w/:slug/page', {
    ...AS_IS,
    attachValidation: true,
    schema: {
      summary: 'Save a whitepaper\'s landing page extras',
      description: 'A cover needs alt text (422 alt_required); at most 8 learn points of 160 characters; saved with If-Match on `etag` (409 brand_conflict).',
      tags: Tags,
      params: SlugParams,
      body: PageBody,
      response: { 303: RedirectSchema, 409: HtmlSchema, 422: HtmlSchema, ...Errors }
    }
  }, async (request, reply) => {
    const { slug } = request.params
    const body = (request.body ?? {}) as Partial<Record<keyof typeof PageBody.properties, string>>
    const [current, pointer] = await Promise.all([brand.readPage(slug), catalog.read(slug)])
    try {
      const invalid = schemaError(request.validationError)
      if (invalid) throw invalid
      const learn = plainText(body.learn ?? '').split('\n').map(oneLine).filter(Boolean)
      if (learn.length > LEARN_MAX_ITEMS) throw new ValidationError('learn_too_many', `There are ${learn.length} points; at most ${LEARN_MAX_ITEMS} fit.`, 'learn')
      const long = learn.findIndex(line => line.length > LEARN_ITEM_MAX)
      if (long >= 0) throw new ValidationError('learn_too_long', `Point ${long + 1} has ${learn[long]?.length} characters; at most ${LEARN_ITEM_MAX}.`, 'learn')
      const thanks = plainText(body.thanks ?? '')
      if (thanks.length > THANKS_MAX) throw new ValidationError('thanks_too_long', `The thank-you text has ${thanks.length} characters; at most ${THANKS_MAX}.`, 'thanks')
      const cover = await chosenImage(current.value.cover, body.cover, body.coverAlt, body.removeCover === '1', 'cover')
      await brand.savePage(slug, { learn, thanks, ...(cover ? { cover } : {}) }, body.etag ?? '')
    } catch (err) {
      const form = { etag: String(body.etag ?? ''), cover: String(body.cover ?? ''), coverAlt: String(body.coverAlt ?? ''), learn: String(body.learn ?? ''), thanks: String(body.thanks ?? ''), current: current.value.cover }
      return await refused(request, reply, err, error => pageSettingsPage(ctx(request), { slug, title: pointer?.title ?? slug, form, error }))
    }
    request.log.info({ slug }, 'admin saved a landing page')
    return reply.redirect(`/admin/w/${slug}/page?saved=1`, 303)
  })

  app.get('/admin/w/:slug/embed', {
    ...AS_IS,
    schema: { summary: 'Copy-paste snippets to put the form on the marketer\'s own site', tags: Tags, params: SlugParams, response: { 200: HtmlSchema, 303: RedirectSchema, ...Errors } }
  }, async (request, reply) => {
    const { slug } = request.params
    const pointer = await catalog.read(slug)
    const title = pointer?.title ?? slug
    const { publicUrl, formOrigins } = config.http
    const own = new URL(publicUrl).origin
    return page(reply, embedPage(ctx(request), {
      slug,
      title,
      publicUrl,
      formOrigins: formOrigins.filter(o => o !== own),
      botMinFillSeconds: config.signup.botMinFillMs / 1000,
      captcha: config.signup.captcha === 'altcha',
      ...embedSnippets({ publicUrl, slug, title })
    }))
  })
}
