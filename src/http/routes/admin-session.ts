// /admin sessions: log-in (failures limited per IP), log-out (revoked on every instance), and the hooks
// that give each admin request its session and guard every write (same origin + CSRF token).
import cookie from '@fastify/cookie'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import type { App } from '../app-type.ts'
import { AS_IS } from '../as-is.ts'
import type { Config } from '../../config.ts'
import { DomainError } from '../../errors.ts'
import { wantsJson } from '../errors.ts'
import { type AdminAuth, type AdminSession, CSRF_FIELD, CSRF_HEADER, SESSION_COOKIE } from '../../admin/auth.ts'
import { createLoginLimit } from '../../admin/login-limit.ts'
import { type AdminContext, loginPage } from '../views/admin-pages.ts'
import { CsrfBody, Errors, HtmlSchema, RedirectSchema, Tags } from './admin-schemas.ts'
import { createSessionStore } from '../../admin/sessions.ts'

declare module 'fastify' {
  interface FastifyRequest {
    adminSession: AdminSession | null
  }
}

// Reached without a session: the login form and the page's own assets (which never read the session).
const ASSET_URLS = new Set(['/admin/assets/admin.js', '/admin/assets/admin.css'])
const PUBLIC_URLS = new Set(['/admin/login', ...ASSET_URLS])

export interface SessionRoutesOptions {
  auth: AdminAuth
  config: Config
  site: string
  /** what every admin page is rendered with (its CSRF token once logged in) */
  ctx: (request: FastifyRequest) => AdminContext
  page: (reply: FastifyReply, body: string, status?: number) => FastifyReply
}

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

export async function sessionRoutes (app: App, options: SessionRoutesOptions): Promise<void> {
  const { auth, config, site, ctx, page } = options
  const { aws } = app
  const sessions = createSessionStore({ s3: aws.s3, bucket: config.aws.s3.bucket })
  const loginLimit = createLoginLimit({ maxFailures: config.admin.loginMaxFailures, redis: app.sharedRedis })
  const publicOrigin = new URL(config.http.publicUrl).origin
  const cookieOptions = { path: '/admin', httpOnly: true, sameSite: 'strict' as const, secure: config.http.publicUrl.startsWith('https://'), signed: true }

  await app.register(cookie, { secret: auth.cookieSecret })
  app.decorateRequest('adminSession', null)

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

  app.get('/admin/login', {
    ...AS_IS,
    schema: { summary: 'Admin log-in form', tags: Tags, response: { 200: HtmlSchema, 303: RedirectSchema } }
  }, async (request, reply) => {
    if (request.adminSession) return reply.redirect('/admin', 303)
    return page(reply, loginPage(ctx(request)))
  })

  app.post('/admin/login', {
    ...AS_IS,
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
    ...AS_IS,
    schema: { summary: 'Log out', tags: Tags, body: CsrfBody, response: { 303: RedirectSchema, ...Errors } }
  }, async (request, reply) => {
    // The record goes: this cookie, wherever it was copied, opens no instance any more.
    if (request.adminSession) await sessions.revoke(request.adminSession)
    request.log.info('admin logged out')
    return reply.clearCookie(SESSION_COOKIE, cookieOptions).redirect('/admin/login', 303)
  })
}
