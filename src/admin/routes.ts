// /admin: marketers log in with ADMIN_TOKEN, upload whitepaper versions straight to S3 (presigned POST),
// activate or roll back, preview the email and export signups. Off (404) unless ADMIN_TOKEN is set.
import { readFileSync } from 'node:fs'
import type { FastifyReply, FastifyRequest } from 'fastify'
import cookie from '@fastify/cookie'
import { Type } from 'typebox'
import type { App } from '../app.ts'
import { DomainError } from '../errors.ts'
import { toProblem, wantsJson } from '../http-errors.ts'
import { createConfirmationEmail } from '../mail/confirmation-email.ts'
import { exportCsv, signupStats } from '../subscribers/export.ts'
import { SLUG_PATTERN, VERSION_PATTERN } from '../whitepapers/catalog.ts'
import { createUploads } from '../whitepapers/uploads.ts'
import { type AdminSession, createAdminAuth, CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE } from './auth.ts'
import { createLoginLimit } from './login-limit.ts'
import { dashboardPage, errorPage, loginPage, previewPage, signupsPage, whitepaperPage } from './pages.ts'
import {
  CsrfBody, Errors, HtmlSchema, PointerSchema, RedirectSchema, SlugParams, Status, Tags, UploadRequestSchema,
  UploadTicketSchema, VerifyRequestSchema, VersionParams, VersionSchema
} from './schemas.ts'
import { createSessionStore } from './sessions.ts'

declare module 'fastify' {
  interface FastifyRequest {
    adminSession: AdminSession | null
  }
}

const ASSETS = {
  js: readFileSync(new URL('../../public/admin.js', import.meta.url)),
  css: readFileSync(new URL('../../public/admin.css', import.meta.url))
}

// Reached without a session: the login form and the page's own assets (which never read the session).
const ASSET_URLS = new Set(['/admin/assets/admin.js', '/admin/assets/admin.css'])
const PUBLIC_URLS = new Set(['/admin/login', ...ASSET_URLS])
const EMAIL_FRAME_URL = '/admin/w/:slug/preview.html'
// The preview's recipient links are signed for a record that cannot exist (no address hashes to zeros).
const PREVIEW_ADDRESS_HASH = '0'.repeat(64)


function unauthorized (): DomainError {
  return new DomainError('unauthorized', 'Log in to the admin page first.', 401)
}

function forbidden (): DomainError {
  return new DomainError('csrf_invalid', 'This form is out of date or came from another site. Reload the page and try again.', 403)
}

/**
 * Same-origin check on writes (defense in depth beside SameSite=Strict and the CSRF token): an Origin,
 * when sent, must be PUBLIC_URL's or the Host the request came to (default ports normalised).
 */
function sameOrigin (request: FastifyRequest, publicOrigin: string): boolean {
  if (request.headers['sec-fetch-site'] === 'cross-site') return false
  const origin = request.headers.origin
  if (origin === undefined) return true
  if (!URL.canParse(origin)) return false
  const from = new URL(origin)
  if (from.origin === publicOrigin) return true
  const host = request.headers.host
  return host !== undefined && URL.canParse(`${from.protocol}//${host}`) && new URL(`${from.protocol}//${host}`).host === from.host
}

export default async function adminRoutes (app: App) {
  const { config, catalog, site, aws, links, recipientLinks } = app.services
  const adminToken = config.ADMIN_TOKEN
  // Off: no route exists, so every /admin URL is the ordinary 404.
  if (!adminToken) return

  const auth = createAdminAuth({ adminToken, tokenSecrets: config.tokenSecrets, sessionSeconds: config.ADMIN_SESSION_SECONDS })
  const uploads = createUploads({ s3: aws.s3, bucket: config.s3Bucket, catalog, maxBytes: config.ADMIN_UPLOAD_MAX_BYTES })
  const sessions = createSessionStore({ s3: aws.s3, bucket: config.s3Bucket })
  const loginLimit = createLoginLimit({ maxFailures: config.ADMIN_LOGIN_MAX_FAILURES, redis: app.sharedRedis })
  const email = createConfirmationEmail({ subject: config.EMAIL_SUBJECT, site })
  const secureCookie = config.publicUrl.startsWith('https://')
  const publicOrigin = new URL(config.publicUrl).origin
  const cookieOptions = { path: '/admin', httpOnly: true, sameSite: 'strict' as const, secure: secureCookie, signed: true }

  await app.register(cookie, { secret: auth.cookieSecret })
  app.decorateRequest('adminSession', null)

  const ctx = (request: FastifyRequest) => ({ site, ...(request.adminSession ? { csrf: auth.csrfToken(request.adminSession) } : {}) })
  const page = (reply: FastifyReply, body: string, status = 200) =>
    reply.code(status).type('text/html; charset=utf-8').send(body)

  async function sessionOf (request: FastifyRequest): Promise<AdminSession | null> {
    const raw = request.cookies[SESSION_COOKIE]
    if (!raw) return null
    const unsigned = request.unsignCookie(raw)
    const session = unsigned.valid ? auth.readSession(unsigned.value ?? undefined) : null
    // Signed and unexpired is not enough: a log-out on any instance deletes the session's record.
    return session && await sessions.isActive(session) ? session : null
  }

  app.addHook('onRequest', async (request, reply) => {
    const url = request.routeOptions.url ?? ''
    if (ASSET_URLS.has(url)) return
    request.adminSession = await sessionOf(request)
    if (PUBLIC_URLS.has(url) || request.adminSession) return
    if ((request.method === 'GET' || request.method === 'HEAD') && !wantsJson(request)) {
      return reply.code(303).header('location', '/admin/login').send()
    }
    throw unauthorized()
  })

  // Every write: same origin, and (once logged in) the session's CSRF token in the form or a header;
  // checked once the body is parsed and before it is validated, so a forged request is a 403.
  app.addHook('preValidation', async request => {
    if (request.method === 'GET' || request.method === 'HEAD') return
    if (!sameOrigin(request, publicOrigin)) throw forbidden()
    if (request.routeOptions.url === '/admin/login') return
    const session = request.adminSession
    if (!session) throw unauthorized()
    const fromHeader = request.headers[CSRF_HEADER]
    const fromBody = (request.body as Record<string, unknown> | undefined)?.[CSRF_FIELD]
    if (!auth.checkCsrf(session, typeof fromHeader === 'string' ? fromHeader : fromBody)) throw forbidden()
  })

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

  app.setErrorHandler(async (err, request, reply) => {
    let problem = toProblem(err)
    if (problem.code === 'invalid_request' && problem.field === 'slug') {
      problem = { ...problem, code: 'slug_invalid', message: 'A slug is 1-64 lowercase letters, digits and dashes.' }
    }
    if (problem.status >= 500) request.log.error({ err }, 'admin request failed')
    else request.log.info({ code: problem.code, status: problem.status }, 'admin request rejected')
    if (problem.status === 503) reply.header('retry-after', '60')
    if (wantsJson(request)) {
      return reply.code(problem.status).type('application/json; charset=utf-8')
        .send({ code: problem.code, message: problem.message, ...(problem.field ? { field: problem.field } : {}) })
    }
    if (problem.status === 401) return reply.code(303).header('location', '/admin/login').send()
    const slug = (request.params as { slug?: string } | undefined)?.slug
    const back = slug && new RegExp(SLUG_PATTERN).test(slug) ? `/admin/w/${slug}` : '/admin'
    return page(reply, errorPage(ctx(request), problem.status >= 500 ? 'Sorry, that did not work' : 'That did not work', problem.message, back), problem.status)
  })

  app.get('/admin/assets/admin.js', { schema: { hide: true, tags: Tags }, logLevel: 'warn' }, async (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').header('cache-control', 'no-cache').send(ASSETS.js))
  app.get('/admin/assets/admin.css', { schema: { hide: true, tags: Tags }, logLevel: 'warn' }, async (_request, reply) =>
    reply.type('text/css; charset=utf-8').header('cache-control', 'no-cache').send(ASSETS.css))

  app.get('/admin/login', {
    schema: { summary: 'Admin log-in form', tags: Tags, response: { 200: HtmlSchema, 303: RedirectSchema } }
  }, async (request, reply) => {
    if (request.adminSession) return reply.redirect('/admin', 303)
    return page(reply, loginPage(ctx(request)))
  })

  app.post('/admin/login', {
    schema: {
      summary: 'Log in with ADMIN_TOKEN',
      description: 'Sets a signed, HttpOnly, SameSite=Strict session cookie (Secure when PUBLIC_URL is https).',
      tags: Tags,
      body: Type.Object({ token: Type.String({ maxLength: 1024, description: 'the ADMIN_TOKEN' }) }),
      response: { 303: RedirectSchema, 401: HtmlSchema, ...Errors }
    }
  }, async (request, reply) => {
    // Only wrong tokens count (ADMIN_LOGIN_MAX_FAILURES per IP per 15 minutes); once over, even the
    // right token waits, or a guesser would learn when it found it.
    const wait = await loginLimit.blockedFor(request.ip)
    if (wait > 0) {
      request.log.warn('admin log-in refused: too many wrong tokens from this client')
      const message = `Too many wrong tokens from your network. Try again in ${Math.ceil(wait / 60)} minute${wait > 60 ? 's' : ''}.`
      reply.code(429).header('retry-after', String(wait))
      if (wantsJson(request)) return reply.type('application/json; charset=utf-8').send({ code: 'login_blocked', message })
      return page(reply, loginPage({ site }, message), 429)
    }
    if (!auth.checkToken(request.body.token)) {
      await loginLimit.fail(request.ip)
      request.log.warn('admin log-in refused: wrong token')
      return page(reply, loginPage({ site }, 'That token is not right.'), 401)
    }
    await loginLimit.succeed(request.ip)
    const session = auth.newSession()
    await sessions.create(session)
    request.log.info('admin logged in')
    return reply
      .setCookie(SESSION_COOKIE, session.value, { ...cookieOptions, maxAge: auth.sessionSeconds })
      .redirect('/admin', 303)
  })

  app.post('/admin/logout', {
    schema: { summary: 'Log out', tags: Tags, body: CsrfBody, response: { 303: RedirectSchema, ...Errors } }
  }, async (request, reply) => {
    // The record goes: this cookie, wherever it was copied, opens no instance any more.
    if (request.adminSession) await sessions.revoke(request.adminSession)
    request.log.info('admin logged out')
    return reply.clearCookie(SESSION_COOKIE, cookieOptions).redirect('/admin/login', 303)
  })

  app.get('/admin', {
    schema: { summary: 'Whitepapers and their current versions', tags: Tags, response: { 200: HtmlSchema, 303: RedirectSchema } }
  }, async (request, reply) => page(reply, dashboardPage(ctx(request), await catalog.overview())))

  app.get('/admin/new', {
    schema: { summary: 'Go to a (new) whitepaper', tags: Tags, querystring: SlugParams, response: { 303: RedirectSchema, ...Errors } }
  }, async (request, reply) => reply.redirect(`/admin/w/${request.query.slug}`, 303))

  app.get('/admin/w/:slug', {
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
      ? `Version ${activated} is now current. Running instances switch within ${config.CATALOG_REFRESH_SECONDS} seconds.`
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
    schema: { summary: 'Preview the email of the current version (sends nothing)', tags: Tags, params: SlugParams, response: { 200: HtmlSchema, 303: RedirectSchema, ...Errors } }
  }, async (request, reply) => {
    const { slug } = request.params
    const rendered = await renderPreview(slug)
    return page(reply, previewPage(ctx(request), { slug, pointer: rendered.pointer, email: rendered.email, from: config.sesFrom }))
  })

  app.get('/admin/w/:slug/preview.html', {
    schema: { summary: 'The HTML part of the preview email', tags: Tags, params: SlugParams, response: { 200: HtmlSchema, 303: RedirectSchema, ...Errors } }
  }, async (request, reply) => {
    const rendered = await renderPreview(request.params.slug)
    return page(reply, rendered.email.html)
  })

  async function renderPreview (slug: string) {
    const pointer = await catalog.read(slug)
    if (!pointer) throw new DomainError('whitepaper_not_found', `"${slug}" has no active version to preview.`, 404)
    // A real download link, signed locally like a signup's (same lifetime, so the email states the real
    // expiry), so the marketer can check the file; nothing is sent.
    const link = await links.mint(pointer, config.LINK_TTL_SECONDS)
    return { pointer, email: email.render({ pointer, link, links: recipientLinks.forEmail(PREVIEW_ADDRESS_HASH, slug) }) }
  }

  app.get('/admin/signups', {
    schema: { summary: 'Signup counts by status and by day', tags: Tags, response: { 200: HtmlSchema, 303: RedirectSchema, ...Errors } }
  }, async (request, reply) => {
    const stats = await signupStats({ s3: aws.s3, bucket: config.s3Bucket })
    return page(reply, signupsPage(ctx(request), stats))
  })

  app.get('/admin/signups.csv', {
    schema: {
      summary: 'Download signups as CSV (streamed)',
      description: 'RFC 4180; columns address, status, created, confirmed, unsubscribed, consent_text_version, whitepapers_requested, signup_ip; formula-like cells are prefixed with \'.',
      tags: Tags,
      querystring: Type.Object({ status: Type.Optional(Status) }),
      response: { 200: Type.String({ description: 'text/csv' }), 303: RedirectSchema, ...Errors }
    }
  }, async (request, reply) => {
    const { status } = request.query
    const day = new Date().toISOString().slice(0, 10)
    const stream = exportCsv({ s3: aws.s3, bucket: config.s3Bucket, status })
    stream.on('error', err => request.log.error({ err }, 'signups export failed midway'))
    request.log.info({ status: status ?? 'all' }, 'admin exported signups')
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="signups-${day}${status ? `-${status}` : ''}.csv"`)
      // A stream: rows go out as they are read (the 200 schema documents the content, it does not serialise it).
      .send(stream as unknown as string)
  })
}
