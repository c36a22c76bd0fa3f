// /admin/privacy pages: find an address, see what is held and what erasing it removes, confirm.
// Every value escaped by the `html` tag; the address travels only in POST bodies, never in a URL.
import { CSRF_FIELD } from '../../admin/auth.ts'
import type { EraseResult } from '../../subscribers/erase.ts'
import type { PersonalData } from '../../subscribers/personal-data.ts'
import { html } from '../../html.ts'
import { type AdminContext, layout } from './admin-pages.ts'

const csrf = (ctx: AdminContext) => html`<input type="hidden" name="${CSRF_FIELD}" value="${ctx.csrf ?? ''}">`

export function privacyPage (ctx: AdminContext, input: { email?: string, error?: string } = {}): string {
  return layout(ctx, 'Privacy requests', html`
<h1>Privacy requests</h1>
<p>Someone asked what you hold about them, or to be erased. Look their address up: the next page shows
everything held and lets you download it or erase it, after a confirmation.</p>
<form method="post" action="/admin/privacy/lookup" class="card">
${csrf(ctx)}
<label for="email">Email address</label>
<input id="email" name="email" type="email" required maxlength="254" autocomplete="off" value="${input.email ?? ''}"${input.error ? html` aria-invalid="true" aria-describedby="email-error"` : ''}>
${input.error ? html`<p id="email-error" class="field-error" role="alert">${input.error}</p>` : ''}
<button type="submit">Look up</button>
</form>
<p class="hint">People can also do both themselves from the link in the footer of every email. The same from the command line:
<code>npm run signups -- show &lt;address&gt;</code> and <code>npm run signups -- erase &lt;address&gt;</code>.</p>`)
}

export function confirmErasePage (ctx: AdminContext, email: string, data: PersonalData | null): string {
  if (!data) {
    return layout(ctx, 'Nothing held', html`
<p class="crumbs"><a href="/admin/privacy">Privacy requests</a> › lookup</p>
<h1>Nothing held about this address</h1>
<p class="notice" role="status">No record holds <strong>${email}</strong>: it was never on file, or it was erased already (an erased address leaves only a tombstone, which holds no address).</p>
<p><a href="/admin/privacy">Look up another address</a></p>`)
  }
  const r = data.record
  return layout(ctx, 'Erase an address?', html`
<p class="crumbs"><a href="/admin/privacy">Privacy requests</a> › lookup</p>
<h1>What is held about ${email}</h1>
<table class="data" id="held">
<tbody>
<tr><th scope="row">Subscription</th><td>${r.status}${data.suppression ? html` (${data.suppression.reason})` : ''}, on file since ${r.createdAt}</td></tr>
<tr><th scope="row">Consent proofs</th><td>${r.signups.length} form submission${r.signups.length === 1 ? '' : 's'} (time, whitepaper, consent text, IP and browser)</td></tr>
<tr><th scope="row">Emails</th><td>${r.deliveries.length} in the record's history</td></tr>
<tr><th scope="row">Queued emails</th><td>${data.queuedEmails.length} not sent yet</td></tr>
<tr><th scope="row">Delivery log</th><td>${data.deliveryLog.length} line${data.deliveryLog.length === 1 ? '' : 's'} (SES message ids, versions, link expiries)</td></tr>
</tbody>
</table>
<form method="post" action="/admin/privacy/export" class="inline">
${csrf(ctx)}<input type="hidden" name="email" value="${email}">
<button type="submit" class="secondary">Download it all (JSON)</button>
</form>
<section class="card danger">
<h2>Erase this address</h2>
<p>Erasing removes all of the above from every place the service stores it. What stays is a tombstone under a
keyed hash of the address that holds no address, consent or IP: it keeps the address from being emailed again
unless it signs up again itself${data.suppression ? html` (it bounced or complained, so it stays suppressed even then)` : ''}. This cannot be undone.</p>
<form method="post" action="/admin/privacy/erase">
${csrf(ctx)}<input type="hidden" name="email" value="${email}">
<button type="submit" class="danger">Erase ${email} everywhere</button>
</form>
</section>`)
}

export function erasedPage (ctx: AdminContext, result: EraseResult): string {
  return layout(ctx, 'Erased', html`
<p class="crumbs"><a href="/admin/privacy">Privacy requests</a> › erased</p>
<h1>${result.found ? 'Erased' : 'Nothing to erase'}</h1>
<p class="notice" role="status">${result.found
    ? `The record, ${result.outboxItems} queued email(s) and ${result.deliveryLines} delivery-log line(s) are gone. A tombstone (${result.tombstone}) holds no address.`
    : 'Nothing was held about this address any more.'}</p>
<p><a href="/admin/privacy">Another request</a></p>`)
}
