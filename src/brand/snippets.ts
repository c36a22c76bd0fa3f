// The HTML a marketer pastes into their own site to show the signup form: a frame of /embed/<slug>
// (works without JavaScript, with every bot check) or a plain form posting to /subscribe.
import { escapeHtml } from '../html.ts'
import { CONSENT_TEXT } from '../subscribers/consent.ts'

export function embedSnippets (input: { publicUrl: string, slug: string, title: string }): { iframe: string, form: string } {
  const base = input.publicUrl.replace(/\/+$/, '')
  const title = escapeHtml(`${input.title}: get it by email`)
  const slug = escapeHtml(input.slug)
  return {
    // Inline style on the marketer's page, not on ours: their CSP, their choice.
    iframe: `<iframe src="${escapeHtml(`${base}/embed/${input.slug}`)}" title="${title}"
        style="border:0;width:100%;max-width:40rem;height:36rem" loading="lazy"></iframe>`,
    form: `<form method="post" action="${escapeHtml(`${base}/subscribe`)}">
  <input type="hidden" name="slug" value="${slug}">
  <label for="leadlink-email">Email address</label>
  <input id="leadlink-email" name="email" type="email" autocomplete="email" required maxlength="254">
  <p>${escapeHtml(CONSENT_TEXT)}</p>
  <button type="submit">Email me the whitepaper</button>
</form>`
  }
}
