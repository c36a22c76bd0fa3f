// Counts every AWS request the app's own clients make (each attempt, as AWS bills it), by command
// and by what the key is for, with the bytes each request sends and each response announces.
import type { FinalizeRequestMiddleware, MiddlewareStack } from '@aws-sdk/types'

export interface Call {
  command: string
  /** what the object is: subscriber, outbox, checkpoint, settle, deliveryLog, catalog, brand; ses for SES */
  purpose: string
  key?: string
  requestBytes: number
  responseBytes: number
  /** HTTP status (0: no answer); a 404 GET is billed like a 200 */
  status: number
  /** the request's body, kept for outbox writes (batch sizes) */
  body?: string
}

function purposeOf (key: string | undefined, input: Record<string, unknown>): string {
  if (key === undefined) return 'ses'
  if (key.startsWith('subscribers/')) return 'subscriber'
  if (key.startsWith('outbox/settle/')) return 'settle'
  if (key.startsWith('outbox/')) return input.IfMatch ? 'checkpoint' : 'outbox'
  if (key.startsWith('deliveries/')) return 'deliveryLog'
  // The brand (src/brand/): settings and each whitepaper's page extras, read once per CATALOG_REFRESH_SECONDS.
  if (key.startsWith('settings/') || key.startsWith('brand/') || /^whitepapers\/[^/]+\/page\.json$/.test(key)) return 'brand'
  if (key.startsWith('whitepapers/')) return 'catalog'
  return key.split('/')[0] ?? key
}

function byteLength (body: unknown): number {
  if (typeof body === 'string') return Buffer.byteLength(body)
  if (body instanceof Uint8Array) return body.byteLength
  return 0
}

// One counter for every command of both clients.
type AnyStack = MiddlewareStack<any, any>

/** Adds the counter to the clients; `calls` grows with every attempt (reset it with `calls.length = 0`). */
export function countCalls (clients: Array<{ middlewareStack: unknown }>): Call[] {
  const calls: Call[] = []
  const counter: FinalizeRequestMiddleware<any, any> = (next, context) => async (args) => {
    const input = (args.input ?? {}) as Record<string, unknown>
    const key = (input.Key ?? input.Prefix) as string | undefined
    const request = args.request as { body?: unknown }
    const command = String(context.commandName ?? '').replace(/Command$/, '')
    const purpose = command.endsWith('EmailTemplate') ? 'template' : purposeOf(key, input)
    const call: Call = { command, purpose, requestBytes: byteLength(request.body), responseBytes: 0, status: 0, ...(key === undefined ? {} : { key }) }
    if (command === 'PutObject' && typeof request.body === 'string' && key?.startsWith('outbox/')) call.body = request.body
    calls.push(call)
    try {
      const result = await next(args)
      const response = result.response as { statusCode?: number, headers?: Record<string, string> }
      call.status = response.statusCode ?? 0
      call.responseBytes = Number(response.headers?.['content-length'] ?? 0)
      return result
    } catch (err) {
      call.status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? 0
      throw err
    }
  }
  for (const client of clients) {
    // finalizeRequest, low priority: below the retry middleware (each attempt is a billed request)
    // and after signing, so the body is the one on the wire.
    (client.middlewareStack as AnyStack).add(counter, { step: 'finalizeRequest', priority: 'low', name: 'costCounter' })
  }
  return calls
}

/** Answered calls (any status but 5xx or none) matching `command`, and `purpose` when given. */
export function tally (calls: Call[], command: string, purpose?: string): number {
  return calls.filter(c => c.command === command && (purpose === undefined || c.purpose === purpose) && answered(c)).length
}

/** Throttled, 5xx or unanswered attempts: retries caused by the emulators under load, reported apart. */
export function answered (call: Call): boolean {
  return call.status > 0 && call.status < 500
}
