// GET /admin/report (the funnel with rates, the daily chart, versions side by side) and /admin/report.csv,
// for a range of days and one whitepaper or all; registered inside the admin routes (their log-in and CSP).
import type { FastifyError } from 'fastify'
import { Type } from 'typebox'
import type { App } from '../app-type.ts'
import { AS_IS } from '../as-is.ts'
import { validationToDomain, wantsJson } from '../errors.ts'
import { systemClock } from '../../clock.ts'
import { mapAll } from '../../concurrency.ts'
import { ValidationError } from '../../errors.ts'
import { funnelCsv } from '../../funnel/csv.ts'
import { dayOf } from '../../funnel/model.ts'
import { buildReport, DEFAULT_DAYS, MAX_DAYS, resolveRange } from '../../funnel/report.ts'
import { SLUG_PATTERN, SLUG_RE } from '../../whitepapers/keys.ts'
import { type ReportVersionInfo, reportPage } from '../views/admin-report.ts'
import { Errors, HtmlSchema, RedirectSchema, Tags } from './admin-schemas.ts'
import type { SessionRoutesOptions } from './admin-session.ts'

const DAY_OR_EMPTY = '^(\\d{4}-\\d{2}-\\d{2})?$'

export const ReportQuery = Type.Object({
  from: Type.Optional(Type.String({ pattern: DAY_OR_EMPTY, description: `first day, UTC, YYYY-MM-DD, included (default: ${DEFAULT_DAYS} days ending on \`to\`)` })),
  to: Type.Optional(Type.String({ pattern: DAY_OR_EMPTY, description: `last day, UTC, YYYY-MM-DD, included (default: today); at most ${MAX_DAYS} days from \`from\`` })),
  slug: Type.Optional(Type.String({ pattern: `^$|${SLUG_PATTERN}`, description: 'one whitepaper (empty or absent: all)' }))
})

/** What a refused form field says on the page. */
const FIELD_MESSAGES: Record<string, string> = {
  from: 'Enter the first day as a real date (YYYY-MM-DD).',
  to: 'Enter the last day as a real date (YYYY-MM-DD).',
  slug: 'Pick a whitepaper from the list.'
}

export default async function adminReportRoutes (app: App, opts: Pick<SessionRoutesOptions, 'ctx' | 'page'>) {
  const { catalog, funnel } = app
  const { ctx, page } = opts
  const today = () => dayOf(systemClock())

  app.get('/admin/report', {
    ...AS_IS,
    // A refused range is shown on the page itself, next to the form, instead of on an error page.
    attachValidation: true,
    schema: {
      summary: 'The funnel report: rates, daily chart, versions side by side',
      description: 'A refused range (not a real day, first day after the last, more than 366 days) answers 422 with the form and the message.',
      tags: Tags,
      querystring: ReportQuery,
      response: { 200: HtmlSchema, 303: RedirectSchema, ...Errors }
    }
  }, async (request, reply) => {
    // With attachValidation the query may be anything the URL held: only strings go back into the form.
    const raw = request.query as Record<string, unknown>
    const form = { from: text(raw.from), to: text(raw.to), slug: text(raw.slug) }
    const whitepapers = (await catalog.overview()).map(w => ({ slug: w.slug, title: w.pointer?.title }))
    let range: { from: string, to: string }
    try {
      if (request.validationError) {
        const field = validationToDomain(request.validationError as FastifyError).field ?? 'from'
        throw new ValidationError('range_invalid', FIELD_MESSAGES[field] ?? FIELD_MESSAGES.from as string, field)
      }
      range = resolveRange(form, today())
    } catch (err) {
      if (!(err instanceof ValidationError) || wantsJson(request)) throw err
      request.log.info({ code: err.code, field: err.field }, 'report range refused')
      return page(reply, reportPage(ctx(request), { form, whitepapers, error: { field: err.field ?? 'from', message: err.message } }), 422)
    }
    const slug = form.slug || undefined
    const report = buildReport(await funnel.read({ ...range, ...(slug ? { slug } : {}) }), { ...range, slug })
    const versionInfo = new Map(await mapAll(report.versions.filter(v => SLUG_RE.test(v.slug)), 4, async ({ slug }) =>
      [slug, new Map<string, ReportVersionInfo>((await catalog.versions(slug)).map(v => [v.version, { title: v.meta?.title, current: v.current }]))] as const))
    return page(reply, reportPage(ctx(request), { form: { ...range, slug: form.slug }, whitepapers, report, versionInfo }))
  })

  app.get('/admin/report.csv', {
    ...AS_IS,
    schema: {
      summary: 'The funnel report as CSV',
      description: `RFC 4180; a header, then one row per day, whitepaper and version: day, slug, version and the count of every step (0 when none); formula-like cells are prefixed with '. Same filters as the page; a refused range is a 422.`,
      tags: Tags,
      querystring: ReportQuery,
      response: { 200: Type.String({ description: 'text/csv' }), 303: RedirectSchema, ...Errors }
    }
  }, async (request, reply) => {
    const { from, to } = resolveRange(request.query, today())
    const slug = request.query.slug || undefined
    const csv = funnelCsv(await funnel.read({ from, to, ...(slug ? { slug } : {}) }), { from, to, slug })
    request.log.info({ from, to, slug: slug ?? 'all' }, 'admin exported the funnel report')
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="funnel-${from}-to-${to}${slug ? `-${slug}` : ''}.csv"`)
      .send(csv)
  })
}

function text (value: unknown): string {
  return typeof value === 'string' ? value.slice(0, 100) : ''
}
