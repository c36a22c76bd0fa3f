// One sentence for what is wrong at one place of a value, from TypeBox's errors (config and stored records).
import type { TLocalizedValidationError } from 'typebox/error'

/**
 * What the first error says (TypeBox's own message: "must be integer", "must be <= 604800"). The
 * choices of an enum are named; a union of literals fails once per literal and then once more as a
 * whole: that becomes one "must be one of" too.
 */
export function describeProblem (errors: TLocalizedValidationError[]): string {
  const [first] = errors
  if (!first) return 'does not match its schema'
  if (first.keyword === 'enum') return `must be one of ${first.params.allowedValues.map(v => JSON.stringify(v)).join(', ')}`
  if (first.keyword === 'const') {
    const allowed = errors
      .filter(e => e.keyword === 'const' && e.instancePath === first.instancePath)
      .map(e => JSON.stringify((e.params as { allowedValue?: unknown }).allowedValue))
    if (allowed.length > 1) return `must be one of ${allowed.join(', ')}`
  }
  return first.message
}
