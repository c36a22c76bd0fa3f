// WCAG 2.x contrast of the accent colour against the text drawn on it (white button text), and the
// shades derived from it. https://www.w3.org/TR/WCAG22/#dfn-contrast-ratio
import { ValidationError } from '../errors.ts'
import { ACCENT_PATTERN } from './model.ts'

/** Text on the accent (buttons) and the accent on the page (links): WCAG AA for normal text. */
export const MIN_CONTRAST = 4.5
export const WHITE = '#ffffff'

const ACCENT_RE = new RegExp(ACCENT_PATTERN)

function channels (hex: string): [number, number, number] {
  const n = Number.parseInt(hex.slice(1), 16)
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255]
}

/** https://www.w3.org/TR/WCAG22/#dfn-relative-luminance */
export function relativeLuminance (hex: string): number {
  const [r, g, b] = channels(hex).map(c => {
    const s = c / 255
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4
  }) as [number, number, number]
  return 0.2126 * r + 0.7152 * g + 0.0722 * b
}

export function contrastRatio (a: string, b: string): number {
  const [hi, lo] = [relativeLuminance(a), relativeLuminance(b)].sort((x, y) => y - x) as [number, number]
  return (hi + 0.05) / (lo + 0.05)
}

/** `#ABC`, `abc`, ` #AABBCC ` → `#aabbcc`; anything else is a ValidationError naming the field. */
export function normalizeAccent (input: string): string {
  let hex = input.trim().toLowerCase()
  if (!hex.startsWith('#')) hex = `#${hex}`
  if (/^#[0-9a-f]{3}$/.test(hex)) hex = `#${[...hex.slice(1)].map(c => c + c).join('')}`
  if (!ACCENT_RE.test(hex)) throw new ValidationError('accent_invalid', 'The accent colour is a hex colour like #1d4ed8.', 'accent')
  return hex
}

/** The accent must keep white text on it readable: refused below 4.5:1, with the ratio named. */
export function checkAccent (input: string): string {
  const hex = normalizeAccent(input)
  const ratio = contrastRatio(hex, WHITE)
  if (ratio < MIN_CONTRAST) {
    throw new ValidationError('accent_contrast', `White text on ${hex} has a contrast of ${formatRatio(ratio)}:1; it needs at least ${MIN_CONTRAST}:1 to be readable (WCAG AA). Choose a darker colour.`, 'accent')
  }
  return hex
}

/** Rounded down, so that 4.49 is never shown as 4.5. */
export function formatRatio (ratio: number): string {
  return (Math.floor(ratio * 100) / 100).toFixed(2)
}

/** `hex` mixed with `toward` (0 = hex, 1 = toward): the hover shade and the light tint of the accent. */
export function mix (hex: string, toward: string, amount: number): string {
  const a = channels(hex)
  const b = channels(toward)
  return `#${a.map((c, i) => Math.round(c + ((b[i] as number) - c) * amount).toString(16).padStart(2, '0')).join('')}`
}
