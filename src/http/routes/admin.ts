// /admin: marketers log in with ADMIN_TOKEN, upload whitepaper versions straight to S3 (presigned POST),
// activate or roll back, preview the email and export signups. Off (404) unless ADMIN_TOKEN is set.
import { readFileSync } from 'node:fs'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import type { App } from '../app-type.ts'
import { AS_IS } from '../as-is.ts'
import { PUBLIC_DIR } from '../public-dir.ts'
import { DomainError } from '../../errors.ts'
import { type ErrorView, replyWithError, wantsJson } from '../errors.ts'
import { SLUG_PATTERN, VERSION_PATTERN } from '../../whitepapers/keys.ts'
import { createUploads } from '../../whitepapers/uploads.ts'
import { createAdminAuth } from '../../admin/auth.ts'
import { dashboardPage, errorPage, previewPage, whitepaperPage } from '../views/admin-pages.ts'
import {
  CsrfBody, Errors, HtmlSchema, PointerSchema, RedirectSchema, SlugParams, Tags, UploadRequestSchema,
  UploadTicketSchema, VerifyRequestSchema, VersionParams, VersionSchema
} from './admin-schemas.ts'
import { sessionRoutes } from './admin-session.ts'
import adminBrandRoutes from './admin-brand.ts'
import adminReportRoutes from './admin-report.ts'
import adminSignupsRoutes from './admin-signups.ts'
import adminPrivacyRoutes from './admin-privacy.ts'

const ASSETS = {
  js: readFileSync(new URL('admin.js', PUBLIC_DIR)),
  css: readFileSync(new URL('admin.css', PUBLIC_DIR))
}

const EMAIL_FRAME_URL = '/admin/w/:slug/preview.html'
// The preview's recipient links are signed for a record that cannot exist (no address hashes to zeros).
const PREVIEW_ADDRESS_HASH = '0'.repeat(64)

export default async function adminRoutes (app: App) {
  const { config, catalog, site, aws, delivery } = app
  const adminToken = config.admin.token
  // Off: no route exists, so every /admin URL is the ordinary 404.
  if (!adminToken) return

  const auth = createAdminAuth({ adminToken, tokenSecrets: config.links.tokenSecrets, sessionSeconds: config.admin.sessionSeconds })
  const uploads = createUploads({ s3: aws.s3, bucket: config.aws.s3.bucket, catalog, maxBytes: config.admin.uploadMaxBytes })
  const ctx = (request: FastifyRequest) => ({ site, ...(request.adminSession ? { csrf: auth.csrfToken(request.adminSession) } : {}) })
  const page = (reply: FastifyReply, body: string, status = 200) =>
    reply.code(status).type('text/html; charset=utf-8').send(body)

  // The session of each request, the guard on every write, log-in and log-out.
  await sessionRoutes(app, { auth, config, site, ctx, page })

  app.addHook('onSend', async (request, reply, payload) => {
    const url = request.routeOptions.url ?? ''
    reply.header('x-content-type-options', 'nosniff')
    reply.header('referrer-policy', 'same-origin')
    if (!url.startsWith('/admin/assets/')) reply.header('cache-control', 'no-store')
    if (url === EMAIL_FRAME_URL) {
      // The email's own HTML (inline styles by design) inside a sandboxed frame of the preview page.
      reply.header('content-security-policy', "default-src 'none'; img-src https: data:; style-src 'unsafe-inline'; font-src https: data:; frame-ancestors 'self'; sandbox")
      reply.header('x-frame-options', 'SAMEORIGIN')
    } else {
      reply.header('content-security-policy', `default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self' ${await uploads.postOrigin()}; frame-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'`)
      reply.header('x-frame-options', 'DENY')
    }
    return payload
  })

  const errors: ErrorView = {
    site,
    problem: (_err, problem) => problem.code === 'invalid_request' && problem.field === 'slug'
      ? { ...problem, code: 'slug_invalid', message: 'A slug is 1-64 lowercase letters, digits and dashes.' }
      : problem,
    // Pages: a lost session goes back to the log-in form; anything else offers a way back.
    page: (problem, request, reply) => {
      if (problem.status === 401) return reply.code(303).header('location', '/admin/login').send()
      const slug = (request.params as { slug?: string } | undefined)?.slug
      const back = slug && new RegExp(SLUG_PATTERN).test(slug) ? `/admin/w/${slug}` : '/admin'
      reply.code(problem.status)
      return errorPage(ctx(request), problem.status >= 500 ? 'Sorry, that did not work' : 'That did not work', problem.message, back)
    }
  }
  app.setErrorHandler((err, request, reply) => replyWithError(err, request, reply, errors))

  app.get('/admin/assets/admin.js', { schema: { hide: true, tags: Tags }, logLevel: 'warn' }, async (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(ASSETS.js))
  app.get('/admin/assets/admin.css', { schema: { hide: true, tags: Tags }, logLevel: 'warn' }, async (_request, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'no-cache').send(ASSETS.css))

  app.get('/admin', {
    ...AS_IS,
    schema: { summary: 'Whitepapers and their current versions', tags: Tags, response: { 200: HtmlSchema, 303: RedirectSchema } }
  }, async (request, reply) => page(reply, dashboardPage(ctx(request), await catalog.overview())))

  app.get('/admin/new', {
    ...AS_IS,
    schema: { summary: 'Go to a (new) whitepaper', tags: Tags, querystring: SlugParams, response: { 303: RedirectSchema, ...Errors } }
  }, async (request, reply) => reply.redirect(`/admin/w/${request.query.slug}`, 303))

  app.get('/admin/w/:slug', {
    ...AS_IS,
    schema: {
      summary: 'A whitepaper: versions, upload, activate',
      tags: Tags,
      params: SlugParams,
      querystring: Type.Object({
        activated: Type.Optional(Type.String({ pattern: VERSION_PATTERN, description: 'a version just activated (notice)' })),
        uploaded: Type.Optional(Type.String({ pattern: VERSION_PATTERN, description: 'a version just uploaded (notice)' }))
      }),
      response: { 200: HtmlSchema, 303: RedirectSchema, ...Errors }
    }
  }, async (request, reply) => {
    const { slug } = request.params
    const [pointer, versions] = await Promise.all([catalog.read(slug), catalog.versions(slug)])
    const { activated, uploaded } = request.query
    const flash = activated
      ? `Version ${activated} is now current. Running instances switch within ${config.catalog.refreshMs / 1000} seconds.`
      : uploaded ? `Version ${uploaded} is uploaded and checked. Activate it below when you are ready.` : undefined
    return page(reply, whitepaperPage(ctx(request), { slug, pointer, versions, maxBytes: uploads.maxBytes, ...(flash ? { flash } : {}) }))
  })

  app.post('/admin/w/:slug/uploads', {
    schema: {
      summary: 'Start a browser upload',
      description: 'Answers a presigned POST for one staging key under uploads/ (never a version key): exact key, Content-Type application/pdf, at most ADMIN_UPLOAD_MAX_BYTES, valid 10 minutes. The file name is cleaned and always ends in .pdf.',
      tags: Tags,
      params: SlugParams,
      body: UploadRequestSchema,
      response: { 201: UploadTicketSchema, ...Errors }
    }
  }, async (request, reply) => {
    const { slug } = request.params
    const ticket = await uploads.start(slug, { filename: request.body.filename, size: request.body.size })
    request.log.info({ slug, version: ticket.version, size: request.body.size }, 'admin upload started')
    return reply.code(201).send({ ...ticket, verifyUrl: `/admin/w/${slug}/versions/${ticket.version}/verify` })
  })

  app.post('/admin/w/:slug/versions/:version/verify', {
    schema: {
      summary: 'Check an uploaded file and record it as a version',
      description: 'The staging object must exist, be within ADMIN_UPLOAD_MAX_BYTES and start with %PDF-; exactly the bytes checked are copied into the version key (CopySourceIfMatch), meta.json is written, and the version can be activated.',
      tags: Tags,
      params: VersionParams,
      body: VerifyRequestSchema,
      response: { 200: VersionSchema, ...Errors }
    }
  }, async request => {
    const { slug, version } = request.params
    const meta = await uploads.verify(slug, version, request.body)
    request.log.info({ slug, version, size: meta.size }, 'admin upload verified')
    return {
      slug,
      version,
      filename: meta.filename,
      title: meta.title,
      size: meta.size,
      sha256: meta.sha256,
      activateUrl: `/admin/w/${slug}/versions/${version}/activate`
    }
  })

  app.post('/admin/w/:slug/versions/:version/activate', {
    schema: {
      summary: 'Make a version current (activate or roll back)',
      tags: Tags,
      params: VersionParams,
      body: CsrfBody,
      response: { 200: PointerSchema, 303: RedirectSchema, ...Errors }
    }
  }, async (request, reply) => {
    const { slug, version } = request.params
    const pointer = await catalog.activate(slug, version)
    request.log.info({ slug, version }, 'admin activated a version')
    if (wantsJson(request)) {
      return reply.send({
        slug: pointer.slug,
        version: pointer.version,
        title: pointer.title,
        filename: pointer.filename,
        size: pointer.size,
        sha256: pointer.sha256,
        activatedAt: pointer.activatedAt
      })
    }
    return reply.redirect(`/admin/w/${slug}?activated=${version}`, 303)
  })

  app.get('/admin/w/:slug/preview', {
    ...AS_IS,
    schema: { summary: 'Preview the email of the current version (sends nothing)', tags: Tags, params: SlugParams, response: { 200: HtmlSchema, 303: RedirectSchema, ...Errors } }
  }, async (request, reply) => {
    const { slug } = request.params
    const rendered = await renderPreview(slug)
    return page(reply, previewPage(ctx(request), { slug, pointer: rendered.pointer, email: rendered.email, from: config.aws.ses.from }))
  })

  app.get('/admin/w/:slug/preview.html', {
    ...AS_IS,
    schema: { summary: 'The HTML part of the preview email', tags: Tags, params: SlugParams, response: { 200: HtmlSchema, 303: RedirectSchema, ...Errors } }
  }, async (request, reply) => {
    const rendered = await renderPreview(request.params.slug)
    return page(reply, rendered.email.html)
  })

  /**
   * The very email a signup gets now (the app's templates, limits and headers), composed by the
   * delivery itself; its download link is real (the marketer can check the file), the other links
   * belong to no address, and nothing is sent.
   */
  async function renderPreview (slug: string) {
    const composed = await delivery.compose({ id: 'preview', address: 'preview@example.invalid', addressHash: PREVIEW_ADDRESS_HASH, slug, requestedAt: new Date().toISOString() })
    if (!composed) throw new DomainError('whitepaper_not_found', `"${slug}" has no active version to preview.`, 404)
    return composed
  }

  // The signup list (paged), counts and CSV (same scope: session, CSP, error pages).
  await app.register(adminSignupsRoutes, { ctx, page })

  // The funnel report (inside this scope: its session, CSP and error pages).
  await app.register(adminReportRoutes, { ctx, page })
  // Brand, landing-page extras and the embeddable form (same scope: session, CSRF, CSP).
  await app.register(adminBrandRoutes, { ctx, page })
  // Privacy requests: show and erase an address (same scope: session, CSRF, CSP).
  await app.register(adminPrivacyRoutes, { ctx, page })
}
