// Placeholder templates: parsed once at boot, filled per email by joining strings (no mjml at runtime).
import { escapeHtml, SafeHtml } from '../html.ts'

type Part = { text: string } | { name: string }

export interface CompiledTemplate {
  /** names of the placeholders the template uses */
  names: Set<string>
  /** strings are encoded; SafeHtml (markup built by the `html` tag, every part escaped) goes in as it is */
  render: (values: Record<string, string | SafeHtml>) => string
}

/** Compiles `{{name}}` placeholders; `encode` is applied to every value (HTML or none for text). */
export function compileTemplate (source: string, encode: (value: string) => string = s => s): CompiledTemplate {
  const parts: Part[] = []
  const names = new Set<string>()
  let last = 0
  for (const match of source.matchAll(/\{\{([a-zA-Z][a-zA-Z0-9]*)\}\}/g)) {
    parts.push({ text: source.slice(last, match.index) })
    const name = match[1] as string
    parts.push({ name })
    names.add(name)
    last = match.index + match[0].length
  }
  parts.push({ text: source.slice(last) })
  return {
    names,
    render (values) {
      let out = ''
      for (const part of parts) {
        if ('text' in part) {
          out += part.text
        } else {
          const value = values[part.name]
          if (value === undefined) throw new Error(`template value missing: ${part.name}`)
          out += value instanceof SafeHtml ? value.value : encode(value)
        }
      }
      return out
    }
  }
}

export const compileHtmlTemplate = (source: string): CompiledTemplate => compileTemplate(source, escapeHtml)
