// /admin/signups (the signup list, a page at a time), /admin/signups/counts (by status and by day: reads
// every record) and /admin/signups.csv (every signup, streamed); registered inside the admin routes
// (their log-in, CSP and error pages).
import { Type } from 'typebox'
import type { App } from '../app-type.ts'
import { AS_IS } from '../as-is.ts'
import { exportCsv, signupStats } from '../../subscribers/export.ts'
import { MAX_PAGE_SIZE, PAGE_SIZE, RECORD_ID_PATTERN, signupPage } from '../../subscribers/export-page.ts'
import { signupCountsPage, signupListPage } from '../views/admin-signups.ts'
import { Errors, HtmlSchema, RedirectSchema, Status, Tags } from './admin-schemas.ts'
import type { SessionRoutesOptions } from './admin-session.ts'

export default async function adminSignupsRoutes (app: App, opts: Pick<SessionRoutesOptions, 'ctx' | 'page'>) {
  const { aws, config } = app
  const { ctx, page } = opts
  const bucket = config.aws.s3.bucket

  app.get('/admin/signups', {
    ...AS_IS,
    schema: {
      summary: 'The signups, a page at a time',
      description: `One ListObjectsV2 (StartAfter the previous page's last record) and one GetObject per row: a page costs the same with ten signups or a million.`,
      tags: Tags,
      querystring: Type.Object({
        after: Type.Optional(Type.String({ pattern: RECORD_ID_PATTERN, description: 'the last record of the previous page (its "Next page" link carries it)' })),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_PAGE_SIZE, default: PAGE_SIZE, description: 'rows per page' }))
      }),
      response: { 200: HtmlSchema, 303: RedirectSchema, ...Errors }
    }
  }, async (request, reply) => {
    const { after, limit } = request.query
    const result = await signupPage({ s3: aws.s3, bucket, after, ...(limit ? { limit } : {}) })
    return page(reply, signupListPage(ctx(request), { ...result, first: after === undefined, limit: limit ?? PAGE_SIZE }))
  })

  app.get('/admin/signups/counts', {
    ...AS_IS,
    schema: {
      summary: 'Signup counts by status and by day',
      description: 'Reads every record (streamed, bounded concurrency): as long as an export.',
      tags: Tags,
      response: { 200: HtmlSchema, 303: RedirectSchema, ...Errors }
    }
  }, async (request, reply) => {
    const stats = await signupStats({ s3: aws.s3, bucket })
    return page(reply, signupCountsPage(ctx(request), stats))
  })

  app.get('/admin/signups.csv', {
    ...AS_IS,
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
    const stream = exportCsv({ s3: aws.s3, bucket, status })
    stream.on('error', err => request.log.error({ err }, 'signups export failed midway'))
    request.log.info({ status: status ?? 'all' }, 'admin exported signups')
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="signups-${day}${status ? `-${status}` : ''}.csv"`)
      // A stream: rows go out as they are read (the 200 schema documents the content, it does not serialise it).
      .send(stream as unknown as string)
  })
}
