// The confirmation email: compiled templates filled with catalog data and the minted link only.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { WhitepaperPointer } from '../whitepapers/catalog.ts'
import type { MintedLink } from '../whitepapers/download-links.ts'
import type { EmailLinks } from '../recipient-links/recipient-links.ts'
import { createHash } from 'node:crypto'
import { escapeHtml, html as markup, type SafeHtml } from '../html.ts'
import type { EmailBrand } from '../brand/view.ts'
import { compileHtmlTemplate, compileTemplate } from './template.ts'

export const TEMPLATES_DIR = fileURLToPath(new URL('../../templates/', import.meta.url))

export interface RenderedEmail {
  subject: string
  html: string
  text: string
  /** the same email as an SES stored template and its data (much smaller to send) */
  template?: { name: string, data: string }
}

/** An SES email template: placeholders become Handlebars triple-stash paths, filled as given. */
export interface SesTemplate {
  name: string
  subject: string
  html: string
  text: string
}

export interface ConfirmationEmailOptions {
  subject: string
  /** site name shown in the email, e.g. the public URL's host */
  site: string
  templatesDir?: string
  /** ADDRESS_WINDOW_DAYS and ADDRESS_MAX_EMAILS: the email promises what the service holds to */
  windowDays?: number
  maxEmails?: number
}

/**
 * The wording that differs between a first signup and one for an address that had unsubscribed:
 * the latter stays unsubscribed, and is told so. Nothing here comes from the visitor.
 */
export function emailWording (site: string, returning: boolean, windowDays = 30, maxEmails = 3) {
  if (returning) {
    return {
      intro: `You unsubscribed from our emails earlier. Someone, hopefully you, has just asked for this whitepaper on ${site}, so here it is:`,
      newsletterIntro: 'You stay unsubscribed: we will not send you our newsletter unless you press this button.',
      ignoreNote: `If that was not you, ignore this email: you stay unsubscribed, and this address gets no further email from us for ${windowDays} days, however often it is entered.`
    }
  }
  return {
    intro: 'Thanks for signing up. Your whitepaper is ready:',
    newsletterIntro: 'Confirm your subscription and we will send you new research when it is out. No confirmation, no newsletter.',
    ignoreNote: maxEmails > 0
      ? `If that was not you, ignore this email: you are on no list, and without a confirmation this address gets at most ${maxEmails} emails in ${windowDays} days, however often it is entered.`
      : 'If that was not you, ignore this email: you are on no list and will get no newsletter.'
  }
}

/** The accent in the compiled template (the default brand colour), replaced by each email's accent. */
export const ACCENT_PLACEHOLDER = '#1d4ed8'

/** The header of the HTML part: the logo (from PUBLIC_URL, with its alt text) above the site name. */
function brandHeader (brand: EmailBrand): SafeHtml {
  const logo = brand.logo
  return markup`${logo ? markup`<img src="${logo.src}" alt="${logo.alt}" width="${logo.width}" height="${logo.height}" style="display:block;margin:0 auto 8px;border:0;outline:none;max-width:100%"><br>` : ''}${brand.siteName}`
}

function load (path: string): string {
  try {
    return readFileSync(path, 'utf8')
  } catch (err) {
    throw new Error(`email template ${path} is missing: run "npm run build" to compile the MJML templates`, { cause: err })
  }
}

export function formatBytes (size: number): string {
  if (size < 1024) return `${size} bytes`
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(0)} KB`
  return `${(size / 1024 / 1024).toFixed(1)} MB`
}

// Built on first use: locale data costs start-up time and memory.
let dateFormat: Intl.DateTimeFormat | undefined
const DATE = {
  format (at: Date): string {
    if (!dateFormat) dateFormat = new Intl.DateTimeFormat('en-GB', { dateStyle: 'long', timeStyle: 'short', timeZone: 'UTC' })
    return dateFormat.format(at)
  }
}

export function formatExpiry (at: Date): string {
  return `${DATE.format(at)} UTC`
}

/** Header values must be one line: a title with a newline would inject headers. */
function oneLine (value: string): string {
  return value.replace(/[\r\n\t]+/g, ' ').trim()
}

export type ConfirmationEmail = ReturnType<typeof createConfirmationEmail>

export function createConfirmationEmail (options: ConfirmationEmailOptions) {
  const dir = options.templatesDir ?? TEMPLATES_DIR
  // The accent becomes a placeholder like the others (mjml only compiles valid colours): per-send data, so
  // the SES template, named by its content, stays the same when the marketer changes the brand.
  const built = load(`${dir}/build/confirmation.html`)
  const htmlSource = built.replace(new RegExp(ACCENT_PLACEHOLDER, 'gi'), '{{accent}}')
  const textSource = load(`${dir}/confirmation.txt`)
  const html = compileHtmlTemplate(htmlSource)
  const text = compileTemplate(textSource)
  const subject = compileTemplate(options.subject)
  // Stored in SES once; each send then carries a kilobyte of data instead of the whole email.
  // Values go in escaped for HTML (h) and raw for text (t); triple-stash keeps SES from touching them.
  const toHandlebars = (source: string, scope: 'h' | 't') => source
    .replace(/\{\{\{|\}\}\}/g, m => m === '{{{' ? '\\{{{' : '}}}')
    .replace(/\{\{([a-zA-Z][a-zA-Z0-9]*)\}\}/g, (_m, name: string) => `{{{${scope}.${name}}}}`)
  const sesHtml = toHandlebars(htmlSource, 'h')
  const sesText = toHandlebars(textSource, 't')
  const sesTemplate: SesTemplate = {
    name: `leadlink-confirmation-${createHash('sha256').update(sesHtml).update('\0').update(sesText).digest('hex').slice(0, 16)}`,
    subject: '{{{t.subject}}}',
    html: sesHtml,
    text: sesText
  }
  return {
    sesTemplate,
    /** Everything in the email comes from the catalog, config and the link: nothing the visitor typed. */
    render (input: { pointer: WhitepaperPointer, link: MintedLink, links: EmailLinks, returning?: boolean, brand?: EmailBrand | undefined }): RenderedEmail {
      const brand = input.brand ?? { siteName: options.site, accent: ACCENT_PLACEHOLDER }
      const site = brand.siteName
      const values = {
        ...emailWording(site, input.returning === true, options.windowDays, options.maxEmails),
        title: oneLine(input.pointer.title),
        filename: input.pointer.filename,
        size: formatBytes(input.pointer.size),
        downloadUrl: input.link.url,
        expiresAt: formatExpiry(input.link.expiresAt),
        site,
        accent: brand.accent,
        confirmUrl: input.links.confirmUrl,
        unsubscribeUrl: input.links.unsubscribeUrl,
        renewUrl: input.links.renewUrl,
        privacyUrl: input.links.privacyUrl
      }
      const subjectLine = oneLine(subject.render(values))
      const header = brandHeader(brand)
      const escaped = { ...Object.fromEntries(Object.entries(values).map(([k, v]) => [k, escapeHtml(v)])), brandHeader: header.value }
      return {
        subject: subjectLine,
        html: html.render({ ...values, brandHeader: header }),
        text: text.render(values),
        template: { name: sesTemplate.name, data: JSON.stringify({ h: escaped, t: { ...values, subject: subjectLine } }) }
      }
    }
  }
}
