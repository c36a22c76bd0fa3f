// The application/json body parser: a key given twice in one object, at any depth, is refused.
import { createRequire } from 'node:module'
import { errorCodes, type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import sjson from 'secure-json-parse'
import { DomainError } from '../errors.ts'

// jsonc-parser's main entry is UMD, whose inner require() calls esbuild cannot bundle: it is loaded by
// Node's own require from node_modules (a production dependency), in the sources and the bundle alike.
const { visit } = createRequire(import.meta.url)('jsonc-parser') as typeof import('jsonc-parser')

/**
 * RFC 8259 §4 leaves duplicated names to the parser ("names within an object SHOULD be unique"):
 * JSON.parse keeps the last, another reader may keep the first, so a check and a use could see two
 * different addresses. A 400 like every other body the parser refuses (invalid JSON, __proto__);
 * 422 is for a field that was read and is wrong.
 */
export class DuplicateFieldError extends DomainError {
  constructor () {
    super('duplicate_field', 'A field appears more than once in the request. Send each field once.', 400)
  }
}

/** The first key that appears twice in one object, at any depth (escapes decoded: "a" and "\u0061" are one key). */
export function findDuplicateKey (text: string): string | undefined {
  const open: Array<Set<string>> = []
  let duplicate: string | undefined
  visit(text, {
    onObjectBegin: () => { open.push(new Set()) },
    onObjectEnd: () => { open.pop() },
    onObjectProperty: key => {
      const keys = open.at(-1)
      if (keys?.has(key)) duplicate ??= key
      keys?.add(key)
    }
  })
  return duplicate
}

async function jsonBody (app: FastifyInstance) {
  // The app's own settings (onProtoPoisoning/onConstructorPoisoning: 'error'), as Fastify's parser had them.
  const options = { protoAction: app.initialConfig.onProtoPoisoning ?? 'error', constructorAction: app.initialConfig.onConstructorPoisoning ?? 'error' } as const
  app.removeContentTypeParser('application/json')
  // No bodyLimit here: the app's BODY_LIMIT_BYTES applies, or a route's own (the webhook's).
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const text = body as string
    if (text.length === 0) return done(new errorCodes.FST_ERR_CTP_EMPTY_JSON_BODY(), undefined)
    let parsed: unknown
    try {
      // Strict JSON and prototype-poisoning keys first: jsonc-parser alone would accept comments.
      parsed = sjson.parse(text, undefined, options)
    } catch {
      return done(new errorCodes.FST_ERR_CTP_INVALID_JSON_BODY(), undefined)
    }
    if (findDuplicateKey(text) !== undefined) return done(new DuplicateFieldError(), undefined)
    done(null, parsed)
  })
}

export default fp(jsonBody, { name: 'json-body' })
