// The confirmation email: compiled templates filled with catalog data and the minted link only.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { WhitepaperPointer } from '../whitepapers/catalog.ts'
import type { MintedLink } from '../whitepapers/download-links.ts'
import type { EmailLinks } from '../links/recipient-links.ts'
import { createHash } from 'node:crypto'
import { escapeHtml } from '../web/html.ts'
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
  const htmlSource = load(`${dir}/build/confirmation.html`)
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
    render (input: { pointer: WhitepaperPointer, link: MintedLink, links: EmailLinks }): RenderedEmail {
      const values = {
        title: oneLine(input.pointer.title),
        filename: input.pointer.filename,
        size: formatBytes(input.pointer.size),
        downloadUrl: input.link.url,
        expiresAt: formatExpiry(input.link.expiresAt),
        site: options.site,
        confirmUrl: input.links.confirmUrl,
        unsubscribeUrl: input.links.unsubscribeUrl,
        renewUrl: input.links.renewUrl
      }
      const subjectLine = oneLine(subject.render(values))
      const escaped = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, escapeHtml(v)]))
      return {
        subject: subjectLine,
        html: html.render(values),
        text: text.render(values),
        template: { name: sesTemplate.name, data: JSON.stringify({ h: escaped, t: { ...values, subject: subjectLine } }) }
      }
    }
  }
}
