// Server-rendered pages: every value escaped by the `html` tag; no inline script or style.
import { CONSENT_TEXT } from '../../subscribers/consent.ts'
import type { WhitepaperPointer } from '../../whitepapers/catalog.ts'
import { html, type SafeHtml } from '../../html.ts'
import type { ImageView, PageBrand, PageExtras } from '../../brand/view.ts'

// Pages with the form: a post from them carries a real Origin (no-referrer would make it "null"), and
// they hold no token that a Referer could leak.
export const FORM_PAGE_HEADERS = { 'cache-control': 'no-store', 'referrer-policy': 'same-origin' }

export interface PageContext {
  site: string
  /** inside /embed/<slug>'s frame: the card alone, without the site's header and footer */
  embed?: boolean
  /** the marketer's brand (/admin/brand): name and logo in the header, the accent's stylesheet */
  brand?: PageBrand | undefined
}

function image (view: ImageView, className: string): SafeHtml {
  return html`<img class="${className}" src="${view.src}" alt="${view.alt}" width="${view.width}" height="${view.height}">`
}

function siteHeader (ctx: PageContext): SafeHtml {
  const brand = ctx.brand
  if (!brand) return html`<p class="site"><a href="/">${ctx.site}</a></p>`
  // The logo's alt text names it; the name beside it is the link's text when there is no logo.
  return html`<header class="site${brand.logo ? ' with-logo' : ''}"><a href="/">${brand.logo ? image(brand.logo, 'logo') : ''}<span>${brand.siteName}</span></a></header>`
}

interface Script { src: string, module?: boolean }

export function layout (ctx: PageContext, title: string, body: SafeHtml, script?: string, modules: Script[] = []): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>
<link rel="stylesheet" href="/assets/site.css">
${ctx.brand ? html`<link rel="stylesheet" href="${ctx.brand.css}">` : ''}
${script ? html`<script src="${script}" defer></script>` : ''}
${modules.map(m => html`<script type="module" src="${m.src}"></script>`)}
</head>
<body${ctx.embed ? html` class="embed"` : ''}>
<main>
${ctx.embed ? '' : siteHeader(ctx)}
<div class="card">
${body}
</div>
<footer>Your address is used only to send what you asked for.</footer>
</main>
</body>
</html>
`.value
}

export interface LandingInput {
  pointer: WhitepaperPointer
  /** what the visitor typed, echoed back into the field (escaped) after an error */
  email?: string
  error?: { field: string, message: string }
  /** signed render time: a submission sooner than BOT_MIN_FILL_SECONDS later is a bot's */
  stamp: string
  /** show the ALTCHA proof-of-work widget (CAPTCHA=altcha) */
  captcha: boolean
  /** the whitepaper's cover, what the reader will learn, the thank-you text (/admin/w/<slug>/page) */
  extras?: PageExtras | undefined
}

export function landingPage (ctx: PageContext, input: LandingInput): string {
  const { pointer, error } = input
  const emailError = error?.field === 'email' ? error.message : undefined
  const otherError = error && error.field !== 'email' ? error.message : undefined
  const extras = input.extras
  return layout(ctx, `${pointer.title}: free download`, html`
${extras?.cover ? html`<div class="intro with-cover">${image(extras.cover, 'cover')}<div>` : ''}
<h1>${pointer.title}</h1>
${pointer.description ? html`<p class="lead">${pointer.description}</p>` : ''}
${extras?.cover ? html`</div></div>` : ''}
${extras && extras.learn.length > 0
  ? html`<h2 class="learn-title">What you will learn</h2>
<ul class="learn">${extras.learn.map(line => html`<li>${line}</li>`)}</ul>`
  : ''}
<p>Get the PDF by email: enter your address and we send you a download link.</p>
${otherError ? html`<p class="field-error" role="alert">${otherError}</p>` : ''}
<form method="post" action="/subscribe" novalidate${extras?.thanks ? html` data-thanks="${extras.thanks}"` : ''}>
<input type="hidden" name="slug" value="${pointer.slug}">
${ctx.embed ? html`<input type="hidden" name="embed" value="1">` : ''}
<label for="email">Email address</label>
<input id="email" name="email" type="email" autocomplete="email" inputmode="email" required maxlength="254"
  value="${input.email ?? ''}"${emailError ? html` aria-invalid="true" aria-describedby="email-error"` : ''}>
${emailError ? html`<p id="email-error" class="field-error" role="alert">${emailError}</p>` : ''}
<input type="hidden" name="stamp" value="${input.stamp}">
<div class="hp" aria-hidden="true">
<label for="website">Leave this field empty</label>
<input id="website" name="website" type="text" tabindex="-1" autocomplete="off">
</div>
${input.captcha
  ? html`<altcha-widget challenge="/altcha/challenge" name="altcha"></altcha-widget>
<noscript><p class="field-error">To keep bots out, this form has your browser solve a small puzzle first, which needs JavaScript. Turn JavaScript on to sign up.</p></noscript>`
  : ''}
<p class="consent" id="consent">${CONSENT_TEXT}</p>
<button type="submit" aria-describedby="consent">Email me the whitepaper</button>
</form>`, '/assets/subscribe.js', input.captcha ? [{ src: '/assets/altcha.js', module: true }] : [])
}

/** The marketer's thank-you text as paragraphs (a blank line starts a new one); plain text, escaped. */
function paragraphs (text: string): SafeHtml[] {
  return text.split(/\r?\n\s*\r?\n/).map(p => p.trim()).filter(Boolean).map(p => html`<p>${p}</p>`)
}

export function thanksPage (ctx: PageContext, pointer: WhitepaperPointer | null, extras?: PageExtras | undefined): string {
  return layout(ctx, 'Check your inbox', html`
<h1>Check your inbox</h1>
<p class="notice" role="status">We are sending ${pointer ? html`<strong>${pointer.title}</strong>` : 'the whitepaper'} to the address you entered. It usually arrives within a minute.</p>
${extras?.thanks ? html`<div class="thanks">${paragraphs(extras.thanks)}</div>` : ''}
<p>Nothing there? Look in your spam folder, or <a href="${ctx.embed ? `/embed/${pointer?.slug ?? 'default'}` : pointer && pointer.slug !== 'default' ? `/w/${pointer.slug}` : '/'}">try again</a> in a few minutes.</p>`)
}

export function messagePage (ctx: PageContext, title: string, message: string, link: { href: string, label: string } = { href: '/', label: 'Back to the start page' }): string {
  return layout(ctx, title, html`
<h1>${title}</h1>
<p role="alert">${message}</p>
<p><a href="${link.href}">${link.label}</a></p>`)
}

/** A page whose only action is a POST button: link scanners that fetch GETs change nothing. */
export function actionPage (ctx: PageContext, input: { title: string, text: string, action: string, button: string }): string {
  return layout(ctx, input.title, html`
<h1>${input.title}</h1>
<p>${input.text}</p>
<form method="post" action="${input.action}">
<button type="submit">${input.button}</button>
</form>`)
}

export function resultPage (ctx: PageContext, input: { title: string, text: string, link?: { href: string, label: string } }): string {
  return layout(ctx, input.title, html`
<h1>${input.title}</h1>
<p class="notice" role="status">${input.text}</p>
${input.link ? html`<p><a href="${input.link.href}">${input.link.label}</a></p>` : ''}`)
}
