// Admin pages for the brand (/admin/brand), a whitepaper's landing-page extras (/admin/w/<slug>/page) and
// the embeddable form (/admin/w/<slug>/embed); every value escaped, no inline script or style.
import { CSRF_FIELD } from '../../admin/auth.ts'
import { contrastRatio, formatRatio, MIN_CONTRAST, WHITE } from '../../brand/contrast.ts'
import { IMAGE_MAX_BYTES } from '../../brand/images.ts'
import { ALT_MAX, type BrandImage, LEARN_ITEM_MAX, LEARN_MAX_ITEMS, SITE_NAME_MAX, THANKS_MAX } from '../../brand/model.ts'
import { imageVersion } from '../../brand/view.ts'
import { html, type SafeHtml } from '../../html.ts'
import { type AdminContext, layout } from './admin-pages.ts'

export interface FormError { field: string, message: string }

/** What the form holds: as stored, or as the marketer sent it when it was refused. */
export interface BrandForm {
  etag: string
  siteName: string
  accent: string
  logo: string
  logoAlt: string
  /** the stored logo, for its preview */
  current?: BrandImage | undefined
}

export interface PageForm {
  etag: string
  cover: string
  coverAlt: string
  learn: string
  thanks: string
  current?: BrandImage | undefined
}

function csrfInput (ctx: AdminContext): SafeHtml {
  return html`<input type="hidden" name="${CSRF_FIELD}" value="${ctx.csrf ?? ''}">`
}

function messages (flash: string | undefined, error: FormError | undefined): SafeHtml {
  return html`${flash ? html`<p class="notice" role="status">${flash}</p>` : ''}
${error && !FIELDS.has(error.field) ? html`<p class="field-error" role="alert" id="form-error">${error.message}</p>` : ''}`
}

const FIELDS = new Set(['siteName', 'accent', 'logo', 'logoAlt', 'cover', 'coverAlt', 'learn', 'thanks'])

/** The field's error, tied to it for screen readers (aria-describedby) and shown under it. */
function fieldError (error: FormError | undefined, field: string): { attrs: SafeHtml | '', message: SafeHtml | '' } {
  if (error?.field !== field) return { attrs: '', message: '' }
  return {
    attrs: html` aria-invalid="true" aria-describedby="${field}-error"`,
    message: html`<p class="field-error" role="alert" id="${field}-error">${error.message}</p>`
  }
}

/** A checked image: the file picker (admin-brand.js uploads it), its hidden name, its alt text, a preview. */
function imageFields (input: { field: 'logo' | 'cover', label: string, name: string, alt: string, current?: BrandImage | undefined, src: string, error?: FormError | undefined, altHint: string }): SafeHtml {
  const { field, current } = input
  const alt = fieldError(input.error, `${field}Alt`)
  const file = fieldError(input.error, field)
  return html`<fieldset class="image-field">
<legend>${input.label}</legend>
${current && current.name === input.name
  ? html`<p><img class="preview" src="${input.src}?v=${imageVersion(current)}" alt="${current.alt}" width="${current.width}" height="${current.height}"></p>
<p class="hint">Now: ${current.type.toUpperCase()}, ${current.width}×${current.height} pixels.</p>`
  : ''}
<input type="hidden" name="${field}" id="${field}-name" value="${input.name}">
<label for="${field}-file">${current ? 'Replace it with' : 'Upload'} a PNG, JPEG or WebP image (at most ${IMAGE_MAX_BYTES / 1024 / 1024} MB)</label>
<input type="file" id="${field}-file" accept="image/png,image/jpeg,image/webp" data-image-upload="${field}-name" data-status="${field}-status" data-alt="${field}Alt"${file.attrs}>
${file.message}
<p id="${field}-status" role="status" aria-live="polite"></p>
<noscript><p class="hint">Uploading an image needs JavaScript; the other fields work without it.</p></noscript>
<label for="${field}Alt">Alt text (required with an image: what it shows, for people who cannot see it)</label>
<input type="text" id="${field}Alt" name="${field}Alt" maxlength="${ALT_MAX}" value="${input.alt}"${input.name ? html` required` : ''}${alt.attrs}>
${alt.message}
<p class="hint">${input.altHint}</p>
${input.name ? html`<label class="check"><input type="checkbox" name="remove${field === 'logo' ? 'Logo' : 'Cover'}" value="1"> Remove the ${field}</label>` : ''}
</fieldset>`
}

export function brandPage (ctx: AdminContext, input: { form: BrandForm, host: string, flash?: string | undefined, error?: FormError | undefined }): string {
  const { form, error } = input
  const name = fieldError(error, 'siteName')
  const accent = fieldError(error, 'accent')
  const ratio = /^#[0-9a-f]{6}$/.test(form.accent) ? contrastRatio(form.accent, WHITE) : undefined
  return layout(ctx, 'Brand', html`
<p class="crumbs"><a href="/admin">Whitepapers</a> › brand</p>
<h1>Brand</h1>
<p>Shown on every landing page, thank-you page and confirmation email. Saved changes reach every running instance within <code>CATALOG_REFRESH_SECONDS</code>, without a deploy.</p>
${messages(input.flash, error)}
<form method="post" action="/admin/brand" id="brand-form" class="card" data-csrf="${ctx.csrf ?? ''}">
${csrfInput(ctx)}
<input type="hidden" name="etag" value="${form.etag}">
<label for="siteName">Site name</label>
<input type="text" id="siteName" name="siteName" maxlength="${SITE_NAME_MAX}" value="${form.siteName}" placeholder="${input.host}"${name.attrs}>
${name.message}
<p class="hint">Instead of the host name (${input.host}) when set.</p>
<label for="accent">Accent colour (buttons, links)</label>
<input type="text" id="accent" name="accent" maxlength="7" value="${form.accent}" placeholder="#1d4ed8" autocomplete="off" spellcheck="false"${accent.attrs}>
${accent.message}
<p class="hint">A hex colour like #1d4ed8. Buttons carry white text on it, so it needs a contrast of at least ${MIN_CONTRAST}:1 with white (WCAG AA)${ratio !== undefined ? html`; ${form.accent} has ${formatRatio(ratio)}:1` : ''}.</p>
${imageFields({ field: 'logo', label: 'Logo', name: form.logo, alt: form.logoAlt, current: form.current, src: '/brand/logo', error, altHint: 'Usually the company name as the logo writes it.' })}
<p><button type="submit">Save the brand</button></p>
</form>
<script src="/admin/assets/brand.js" defer></script>`)
}

export function pageSettingsPage (ctx: AdminContext, input: { slug: string, title: string, form: PageForm, flash?: string | undefined, error?: FormError | undefined }): string {
  const { slug, form, error } = input
  const learn = fieldError(error, 'learn')
  const thanks = fieldError(error, 'thanks')
  return layout(ctx, `Landing page: ${input.title}`, html`
<p class="crumbs"><a href="/admin">Whitepapers</a> › <a href="/admin/w/${slug}">${slug}</a> › landing page</p>
<h1>Landing page of ${input.title}</h1>
<p><a href="${slug === 'default' ? '/' : `/w/${slug}`}">See the page</a> · <a href="/admin/brand">Site-wide brand</a> · <a href="/admin/w/${slug}/embed">Put the form on your site</a></p>
${messages(input.flash, error)}
<form method="post" action="/admin/w/${slug}/page" id="page-form" class="card" data-csrf="${ctx.csrf ?? ''}">
${csrfInput(ctx)}
<input type="hidden" name="etag" value="${form.etag}">
${imageFields({ field: 'cover', label: 'Cover image', name: form.cover, alt: form.coverAlt, current: form.current, src: `/w/${slug}/cover`, error, altHint: 'E.g. "Cover of the 2026 cloud cost report".' })}
<label for="learn">What the reader will learn (one point per line, at most ${LEARN_MAX_ITEMS}, ${LEARN_ITEM_MAX} characters each)</label>
<textarea id="learn" name="learn" rows="5"${learn.attrs}>${form.learn}</textarea>
${learn.message}
<label for="thanks">Thank-you text (after the form is sent; a blank line starts a new paragraph)</label>
<textarea id="thanks" name="thanks" rows="4" maxlength="${THANKS_MAX}"${thanks.attrs}>${form.thanks}</textarea>
${thanks.message}
<p class="hint">Plain text: it is shown as written, never as HTML.</p>
<p><button type="submit">Save the landing page</button></p>
</form>
<script src="/admin/assets/brand.js" defer></script>`)
}

export interface EmbedInput {
  slug: string
  title: string
  publicUrl: string
  /** FORM_ORIGINS as configured (without PUBLIC_URL's own origin) */
  formOrigins: string[]
  botMinFillSeconds: number
  captcha: boolean
  /** the iframe snippet and the plain form snippet, as pasted */
  iframe: string
  form: string
}

export function embedPage (ctx: AdminContext, input: EmbedInput): string {
  const { slug } = input
  const plainWorks = input.botMinFillSeconds === 0 && !input.captcha
  return layout(ctx, `Embed: ${input.title}`, html`
<p class="crumbs"><a href="/admin">Whitepapers</a> › <a href="/admin/w/${slug}">${slug}</a> › embed</p>
<h1>Put the form on your own site</h1>
<section class="card" id="origins">
<h2>1. Allow your site</h2>
${input.formOrigins.length > 0
  ? html`<p class="notice" role="status"><code>FORM_ORIGINS</code> is set: pages on ${input.formOrigins.map((o, i) => html`${i > 0 ? ', ' : ''}<code>${o}</code>`)} may show and send the form.</p>
<p class="hint">Another site? Add its origin (scheme, host and port only) to <code>FORM_ORIGINS</code>, comma-separated, and restart the service.</p>`
  : html`<p class="field-error" role="alert"><code>FORM_ORIGINS</code> is not set: only pages on <code>${new URL(input.publicUrl).origin}</code> may show the form. The snippets below do nothing elsewhere until it is.</p>
<p>Add the origin of the site you paste them on to the service's settings and restart it, e.g.:</p>
<pre class="email-text">FORM_ORIGINS=https://www.example.com</pre>`}
</section>
<section class="card">
<h2>2. Paste the form (recommended)</h2>
<p>A frame with the form, in the brand set here. It works with and without JavaScript: the form is sent from this service's own page, with its bot checks, and the thank-you text shows in the frame.</p>
<label for="snippet-iframe">HTML to paste</label>
<textarea id="snippet-iframe" readonly rows="4" spellcheck="false">${input.iframe}</textarea>
</section>
<section class="card">
<h2>Or: a plain HTML form</h2>
${plainWorks
  ? html`<p>Bot checks are off (<code>BOT_MIN_FILL_SECONDS=0</code>, <code>CAPTCHA=off</code>), so a form of your own works too; it opens the thank-you page on this service. The per-IP and per-address limits still apply.</p>`
  : html`<p class="field-error" role="alert">Not with the current settings: ${input.captcha ? html`<code>CAPTCHA=altcha</code> needs the puzzle that only this service's page solves` : html`<code>BOT_MIN_FILL_SECONDS=${input.botMinFillSeconds}</code> needs the signed time stamp that only this service's page carries`}, so posts from this form would be taken for a bot's and quietly dropped. Use the frame above: it works without JavaScript too.</p>`}
<label for="snippet-form">HTML to paste${plainWorks ? '' : ' (only once bot checks are off)'}</label>
<textarea id="snippet-form" readonly rows="10" spellcheck="false">${input.form}</textarea>
</section>`)
}
