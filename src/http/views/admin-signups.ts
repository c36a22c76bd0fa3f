// The admin's signup pages: the list a page at a time (a "Next page" link carries the last key: S3
// lists forwards only), and the counts by status and by day. Every value escaped by the `html` tag.
import type { CsvRow, SignupStats } from '../../subscribers/export.ts'
import { STATUSES } from '../../subscribers/export.ts'
import { html } from '../../html.ts'
import { type AdminContext, layout, when } from './admin-pages.ts'

export interface SignupListInput {
  rows: CsvRow[]
  next?: string
  /** this is the first page */
  first: boolean
  limit: number
}

function downloads () {
  return html`<a href="/admin/signups.csv" download>Download all (CSV)</a>
${STATUSES.map(s => html` · <a href="/admin/signups.csv?status=${s}" download>${s} only</a>`)}`
}

export function signupListPage (ctx: AdminContext, input: SignupListInput): string {
  const { rows, next, first, limit } = input
  const more = (after: string) => `/admin/signups?after=${after}${limit === 50 ? '' : `&limit=${limit}`}`
  return layout(ctx, 'Signups', html`
<h1>Signups</h1>
<p>${downloads()}</p>
<p><a href="/admin/signups/counts">Counts by status and by day</a> (reads every record: as long as a download)</p>
${rows.length === 0
  ? html`<p>${first ? 'No signups yet.' : 'No more signups.'}</p>`
  : html`<table class="data" id="signups">
<thead><tr><th scope="col">Address</th><th scope="col">Status</th><th scope="col">Signed up</th><th scope="col">Confirmed</th><th scope="col">Unsubscribed</th><th scope="col">Whitepapers</th></tr></thead>
<tbody>
${rows.map(r => html`<tr><td>${r.address}</td><td>${r.status}</td><td>${when(r.created)}</td><td>${when(r.confirmed)}</td><td>${when(r.unsubscribed)}</td><td>${r.whitepapers}</td></tr>`)}
</tbody>
</table>`}
<nav class="pages" aria-label="Pages">
${first ? '' : html`<a href="/admin/signups">First page</a>`}
${next ? html`<a href="${more(next)}" rel="next">Next page</a>` : ''}
</nav>
<p class="hint">In the order S3 lists them (by record key, which says nothing about the address), ${limit} a page.</p>`)
}

export function signupCountsPage (ctx: AdminContext, stats: SignupStats): string {
  return layout(ctx, 'Signup counts', html`
<p class="crumbs"><a href="/admin/signups">Signups</a> › counts</p>
<h1>Signup counts</h1>
<p>${stats.total} address${stats.total === 1 ? '' : 'es'} on file.
${downloads()}</p>
<h2>By status</h2>
<table class="data" id="by-status">
<thead><tr><th scope="col">Status</th><th scope="col">Addresses</th></tr></thead>
<tbody>
${STATUSES.map(s => html`<tr><td>${s}</td><td class="num">${stats.byStatus[s]}</td></tr>`)}
</tbody>
</table>
<h2>By day (last 30 days, UTC)</h2>
${stats.byDay.length === 0
  ? html`<p>No activity in the last 30 days.</p>`
  : html`<table class="data" id="by-day">
<thead><tr><th scope="col">Day</th><th scope="col">New addresses</th><th scope="col">Form submissions</th><th scope="col">Confirmed</th><th scope="col">Unsubscribed</th></tr></thead>
<tbody>
${stats.byDay.map(d => html`<tr><td>${d.day}</td><td class="num">${d.created}</td><td class="num">${d.submissions}</td><td class="num">${d.confirmed}</td><td class="num">${d.unsubscribed}</td></tr>`)}
</tbody>
</table>`}
<p class="hint">Columns of the CSV: address, status, created, confirmed, unsubscribed, consent text version, whitepapers requested, signup IP (of the latest form submission). Cells that a spreadsheet would run as a formula start with an apostrophe.</p>`)
}
