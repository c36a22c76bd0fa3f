// /admin/privacy: a marketer serves a person's access and erasure requests. Look-up and the actions are
// POSTs with the session's CSRF token (the admin scope checks it), so the address is never in a URL or
// an access log; erasing needs the confirmation page's own form. Registered inside the admin routes.
import { Type } from 'typebox'
import type { App } from '../app-type.ts'
import { AS_IS } from '../as-is.ts'
import { ValidationError } from '../../errors.ts'
import { parseAddress } from '../../subscribers/address.ts'
import { confirmErasePage, erasedPage, privacyPage } from '../views/admin-privacy.ts'
import { CsrfBody, Errors, HtmlSchema, RedirectSchema, Tags } from './admin-schemas.ts'
import type { SessionRoutesOptions } from './admin-session.ts'

export const AddressBody = Type.Object({
  ...CsrfBody.properties,
  email: Type.String({ maxLength: 1024, description: 'the address the request is about' })
})

const JsonDownload = Type.String({ description: 'application/json: everything held about the address (the self-service download\'s JSON)' })

export default async function adminPrivacyRoutes (app: App, opts: Pick<SessionRoutesOptions, 'ctx' | 'page'>) {
  const { rights } = app
  const { ctx, page } = opts

  app.get('/admin/privacy', {
    ...AS_IS,
    schema: { summary: 'Privacy requests: look up an address', tags: Tags, response: { 200: HtmlSchema, 303: RedirectSchema, ...Errors } }
  }, async (request, reply) => page(reply, privacyPage(ctx(request))))

  /** The canonical address, or the look-up form again with the reason (422). */
  function addressOr (email: string): string | ValidationError {
    try {
      return parseAddress(email).address
    } catch (err) {
      if (err instanceof ValidationError) return err
      throw err
    }
  }

  app.post('/admin/privacy/lookup', {
    ...AS_IS,
    schema: { summary: 'What is held about an address, and the confirmation to erase it', tags: Tags, body: AddressBody, response: { 200: HtmlSchema, 303: RedirectSchema, ...Errors } }
  }, async (request, reply) => {
    const address = addressOr(request.body.email)
    if (address instanceof ValidationError) return page(reply, privacyPage(ctx(request), { email: request.body.email, error: address.message }), 422)
    return page(reply, confirmErasePage(ctx(request), address, await rights.show({ address })))
  })

  app.post('/admin/privacy/export', {
    ...AS_IS,
    schema: { summary: 'Download everything held about an address (JSON)', tags: Tags, body: AddressBody, response: { 200: JsonDownload, 303: RedirectSchema, ...Errors } }
  }, async (request, reply) => {
    const address = addressOr(request.body.email)
    if (address instanceof ValidationError) throw address
    const data = await rights.show({ address })
    request.log.info({ found: data !== null }, 'admin exported a person\'s data')
    return reply
      .type('application/json; charset=utf-8')
      .header('content-disposition', 'attachment; filename="personal-data.json"')
      .send(JSON.stringify(data ?? { address, held: null }, null, 2))
  })

  app.post('/admin/privacy/erase', {
    ...AS_IS,
    schema: { summary: 'Erase an address everywhere (after the confirmation page)', tags: Tags, body: AddressBody, response: { 200: HtmlSchema, 303: RedirectSchema, ...Errors } }
  }, async (request, reply) => {
    const address = addressOr(request.body.email)
    if (address instanceof ValidationError) throw address
    const result = await rights.erase({ address })
    // The key's first characters only: enough to trace support tickets, never the address.
    request.log.info({ addressKey: result.key.slice(0, 12), found: result.found, outboxItems: result.outboxItems, deliveryLines: result.deliveryLines }, 'admin erased an address')
    return page(reply, erasedPage(ctx(request), result))
  })
}
