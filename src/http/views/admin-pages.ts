// Admin pages: server-rendered, every value escaped by the `html` tag, no inline script or style
// (the one script is /admin/assets/admin.js, allowed by the admin CSP's script-src 'self').
import { formatBytes } from '../../delivery/confirmation-email.ts'
import type { RenderedEmail } from '../../delivery/confirmation-email.ts'
import { SLUG_PATTERN } from '../../whitepapers/keys.ts'
import { DESCRIPTION_MAX, TITLE_MAX, type VersionInfo, type WhitepaperPointer } from '../../whitepapers/model.ts'
import { html, type SafeHtml } from '../../html.ts'
import { CSRF_FIELD } from '../../admin/auth.ts'

export interface AdminContext {
  site: string
  /** the CSRF token of the session; absent on the login page */
  csrf?: string
}

// Built on first use: locale data costs start-up time and memory.
let dateFormat: Intl.DateTimeFormat | undefined
const DATE = {
  format (at: Date): string {
    if (!dateFormat) dateFormat = new Intl.DateTimeFormat('en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'UTC' })
    return dateFormat.format(at)
  }
}

export function when (iso: string | undefined): string {
  if (!iso) return ''
  const at = new Date(iso)
  return Number.isNaN(at.getTime()) ? iso : `${DATE.format(at)} UTC`
}

function landingPath (slug: string): string {
  return slug === 'default' ? '/' : `/w/${slug}`
}

function csrfInput (ctx: AdminContext): SafeHtml {
  return html`<input type="hidden" name="${CSRF_FIELD}" value="${ctx.csrf ?? ''}">`
}

export function layout (ctx: AdminContext, title: string, body: SafeHtml, options: { nav?: boolean } = {}): string {
  const nav = options.nav ?? true
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${title} · ${ctx.site} admin</title>
<link rel="stylesheet" href="/assets/site.css">
<link rel="stylesheet" href="/admin/assets/admin.css">
<script src="/admin/assets/admin.js" defer></script>
</head>
<body class="admin">
<header class="admin-bar">
<a class="brand" href="/admin">${ctx.site} · admin</a>
${nav
  ? html`<nav aria-label="Admin">
<a href="/admin">Whitepapers</a>
<a href="/admin/signups">Signups</a>
<a href="/admin/report">Report</a>
<a href="/admin/privacy">Privacy</a>
<a href="/admin/brand">Brand</a>
<form method="post" action="/admin/logout" class="inline">${csrfInput(ctx)}<button type="submit" class="link">Log out</button></form>
</nav>`
  : ''}
</header>
<main>
${body}
</main>
</body>
</html>
`.value
}

function notice (message: string | undefined, kind: 'ok' | 'error' = 'ok'): SafeHtml | '' {
  if (!message) return ''
  return kind === 'ok'
    ? html`<p class="notice" role="status">${message}</p>`
    : html`<p class="field-error" role="alert">${message}</p>`
}

export function loginPage (ctx: AdminContext, error?: string): string {
  return layout(ctx, 'Log in', html`
<div class="card narrow">
<h1>Admin log-in</h1>
${notice(error, 'error')}
<form method="post" action="/admin/login">
<label for="token">Admin token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required maxlength="1024"${error ? html` aria-invalid="true"` : ''}>
<p class="hint">The value of <code>ADMIN_TOKEN</code> in the service's settings.</p>
<button type="submit">Log in</button>
</form>
</div>`, { nav: false })
}

export function errorPage (ctx: AdminContext, title: string, message: string, back: string): string {
  return layout(ctx, title, html`
<div class="card">
<h1>${title}</h1>
<p role="alert">${message}</p>
<p><a href="${back}">Back</a></p>
</div>`, { nav: ctx.csrf !== undefined })
}

export function dashboardPage (ctx: AdminContext, whitepapers: Array<{ slug: string, pointer: WhitepaperPointer | null }>): string {
  const rows = whitepapers.map(({ slug, pointer }) => html`<tr>
<td><a href="/admin/w/${slug}">${slug}</a></td>
<td>${pointer ? pointer.title : html`<em>no version active</em>`}</td>
<td><code>${pointer?.version ?? ''}</code></td>
<td>${when(pointer?.activatedAt)}</td>
<td>${pointer ? formatBytes(pointer.size) : ''}</td>
<td>${pointer ? html`<a href="${landingPath(slug)}">${landingPath(slug)}</a>` : ''}</td>
</tr>`)
  return layout(ctx, 'Whitepapers', html`
<h1>Whitepapers</h1>
${whitepapers.length === 0
  ? html`<p>Nothing published yet. Start one below, or run <code>npm run whitepaper -- publish paper.pdf</code>.</p>`
  : html`<table class="data">
<thead><tr><th scope="col">Slug</th><th scope="col">Title</th><th scope="col">Current version</th><th scope="col">Activated</th><th scope="col">Size</th><th scope="col">Landing page</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>`}
<section class="card">
<h2>New whitepaper</h2>
<form method="get" action="/admin/new" class="row">
<label for="slug">Slug (its landing page is <code>/w/&lt;slug&gt;</code>)</label>
<input id="slug" name="slug" required pattern="${SLUG_PATTERN.replace(/^\^|\$$/g, '')}" maxlength="64" placeholder="q3-report">
<button type="submit">Continue</button>
</form>
</section>
<section class="card">
<h2>Signups</h2>
<p><a href="/admin/signups">All signups</a> · <a href="/admin/signups/counts">Counts by status and by day</a> · <a href="/admin/signups.csv" download>Download all signups (CSV)</a></p>
</section>`)
}

export interface WhitepaperPageInput {
  slug: string
  pointer: WhitepaperPointer | null
  versions: VersionInfo[]
  maxBytes: number
  flash?: string
}

function versionRow (ctx: AdminContext, slug: string, v: VersionInfo, olderThanCurrent: boolean): SafeHtml {
  const m = v.meta
  const action = v.current
    ? html`<span class="badge">current</span>`
    : m
      ? html`<form method="post" action="/admin/w/${slug}/versions/${v.version}/activate" class="inline">${csrfInput(ctx)}<button type="submit" class="small">${olderThanCurrent ? 'Roll back to this' : 'Activate'}</button></form>`
      : html`<span class="muted">not a checked PDF</span>`
  return html`<tr${v.current ? html` class="current"` : ''} data-version="${v.version}">
<td><code>${v.version}</code></td>
<td>${m ? when(m.createdAt) : ''}</td>
<td>${m?.title ?? ''}</td>
<td>${m?.filename ?? ''}</td>
<td>${m ? formatBytes(m.size) : v.size !== undefined ? formatBytes(v.size) : ''}</td>
<td>${m ? html`<code title="${m.sha256}">${m.sha256.slice(0, 12)}</code>` : ''}</td>
<td>${action}</td>
</tr>`
}

export function whitepaperPage (ctx: AdminContext, input: WhitepaperPageInput): string {
  const { slug, pointer, versions } = input
  // Newest first: rows below the current one are older, so activating them is a roll-back.
  const currentIndex = versions.findIndex(v => v.current)
  return layout(ctx, pointer?.title ?? slug, html`
<p class="crumbs"><a href="/admin">Whitepapers</a> › ${slug}</p>
<h1>${pointer?.title ?? slug}</h1>
${notice(input.flash)}
<p><a href="/admin/w/${slug}/page">Cover, learn-list and thank-you text</a> · <a href="/admin/w/${slug}/embed">Put the form on your site</a></p>
${pointer
  ? html`<p>Current: version <code>${pointer.version}</code>, <strong>${pointer.filename}</strong> (${formatBytes(pointer.size)}), activated ${when(pointer.activatedAt)}.
<a href="${landingPath(slug)}">Landing page</a> · <a href="/admin/w/${slug}/preview">Preview the email</a></p>`
  : html`<p>No version is active yet: upload one, then activate it.</p>`}

<section class="card">
<h2>Upload a new version</h2>
<form id="upload-form" method="post" action="/admin/w/${slug}/uploads" enctype="multipart/form-data"
  data-slug="${slug}" data-max-bytes="${input.maxBytes}" data-csrf="${ctx.csrf ?? ''}">
<label for="file">PDF file (at most ${formatBytes(input.maxBytes)})</label>
<input id="file" name="file" type="file" accept="application/pdf,.pdf" required>
<label for="title">Title</label>
<input id="title" name="title" type="text" maxlength="${TITLE_MAX}" value="${pointer?.title ?? ''}" placeholder="the file name if empty">
<label for="description">Description (shown on the landing page)</label>
<textarea id="description" name="description" maxlength="${DESCRIPTION_MAX}" rows="3">${pointer?.description ?? ''}</textarea>
<p><button type="submit" id="upload-button">Upload</button></p>
<progress id="upload-progress" max="100" value="0" hidden>0%</progress>
<p id="upload-status" role="status" aria-live="polite"></p>
</form>
<noscript><p class="field-error">Uploading from the browser needs JavaScript. Without it, use <code>npm run whitepaper -- publish paper.pdf --slug ${slug}</code>.</p></noscript>
<p class="hint">The file goes straight from your browser to the bucket. It is checked (size, and that it is a PDF) before it can be activated; the live version does not change until you activate the new one.</p>
</section>

<h2>Versions</h2>
${versions.length === 0
  ? html`<p>No versions yet.</p>`
  : html`<table class="data" id="versions">
<thead><tr><th scope="col">Version</th><th scope="col">Uploaded</th><th scope="col">Title</th><th scope="col">File</th><th scope="col">Size</th><th scope="col">SHA-256</th><th scope="col"></th></tr></thead>
<tbody>
${versions.map((v, i) => versionRow(ctx, slug, v, currentIndex >= 0 && i > currentIndex))}
</tbody>
</table>
<p class="hint">Links already emailed keep downloading the version they were sent with until they expire; activating changes what new emails link (running instances switch within <code>CATALOG_REFRESH_SECONDS</code>).</p>`}`)
}

export function previewPage (ctx: AdminContext, input: { slug: string, pointer: WhitepaperPointer, email: RenderedEmail, from: string }): string {
  const { slug, pointer, email } = input
  return layout(ctx, `Email preview: ${pointer.title}`, html`
<p class="crumbs"><a href="/admin">Whitepapers</a> › <a href="/admin/w/${slug}">${slug}</a> › email preview</p>
<h1>Email preview</h1>
<p class="notice" role="status">This is the email a new signup for <strong>${pointer.title}</strong> gets now (version <code>${pointer.version}</code>). Nothing was sent. The download button works (it is signed like a real email's); the confirm, unsubscribe and fresh-link links belong to no address.</p>
<dl class="meta">
<dt>From</dt><dd>${input.from}</dd>
<dt>Subject</dt><dd id="preview-subject">${email.subject}</dd>
</dl>
<h2>HTML part</h2>
<iframe class="email" src="/admin/w/${slug}/preview.html" title="The HTML email" sandbox></iframe>
<h2>Text part</h2>
<pre class="email-text">${email.text}</pre>`)
}
