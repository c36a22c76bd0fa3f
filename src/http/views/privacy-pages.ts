// The self-service privacy pages (/p/<token>): download one's data, erase it after a confirmation.
// The same page for every valid token, whatever is on file: it shows nothing held, only the actions.
import { html } from '../../html.ts'
import { layout, type PageContext } from './pages.ts'

export function privacyHomePage (ctx: PageContext, token: string): string {
  return layout(ctx, 'Your data', html`
<h1>Your data</h1>
<p>This page is for the address this link was sent to. From here you can download everything we hold about it, or erase it.</p>
<form method="post" action="/p/${token}/data">
<button type="submit">Download my data (JSON)</button>
</form>
<h2>Erase my data</h2>
<p>Erasing removes your address, the proof of your signups and the history of the emails we sent you from everywhere we store
them. We keep only a coded marker that holds no address, so that we do not email you again unless you sign up again yourself.</p>
<p><a href="/p/${token}/erase">Erase my data…</a></p>`)
}

/** A GET that changes nothing: the erasure is this page's POST button (mail scanners follow links, they do not press buttons). */
export function confirmErasurePage (ctx: PageContext, token: string): string {
  return layout(ctx, 'Erase your data?', html`
<h1>Erase your data?</h1>
<p>We will remove your address and everything tied to it: your subscription, the proof of your signups, the emails still
queued for you and the record of those we sent. You will get no more emails from us unless you sign up again. This cannot be undone.</p>
<form method="post" action="/p/${token}/erase">
<input type="hidden" name="confirm" value="erase">
<button type="submit">Yes, erase my data</button>
</form>
<p><a href="/p/${token}">No, go back</a></p>`)
}

export function erasedPage (ctx: PageContext): string {
  return layout(ctx, 'Your data is erased', html`
<h1>Your data is erased</h1>
<p class="notice" role="status">We hold nothing about your address any more, and we will not email it again unless you sign up again yourself.</p>
<p><a href="/">Back to the start page</a></p>`)
}
