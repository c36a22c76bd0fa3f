// The one error path: every error handler (the app's, each scope's, the router's, the 404) is a
// one-line call to replyWithError, which maps domain errors to a status and a stable code, hides
// 5xx details, logs once, and answers JSON or an HTML page. Scopes only say how their page looks.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { Type } from 'typebox'
import { DomainError, ValidationError } from '../errors.ts'
import { messagePage } from './views/pages.ts'

export const ErrorSchema = Type.Object({
  code: Type.String({ description: 'stable machine-readable error code' }),
  message: Type.String({ description: 'human-readable explanation' }),
  field: Type.Optional(Type.String({ description: 'the input field at fault' }))
}, { $id: 'Error' })

export interface HttpProblem {
  status: number
  code: string
  message: string
  field?: string
}

const CLIENT_ERRORS: Record<number, [string, string]> = {
  400: ['bad_request', 'The request could not be understood.'],
  404: ['not_found', 'There is nothing here.'],
  405: ['method_not_allowed', 'That method is not allowed here.'],
  406: ['not_acceptable', 'That response type is not available.'],
  413: ['body_too_large', 'The request is too large.'],
  414: ['uri_too_long', 'The address is too long.'],
  415: ['unsupported_media_type', 'Send the form as application/x-www-form-urlencoded or application/json.'],
  429: ['too_many_requests', 'Too many requests. Please wait a moment and try again.']
}

export const NOT_FOUND: HttpProblem = { status: 404, code: 'not_found', message: 'There is nothing at this address.' }

/** Turns schema errors on a field into the product's message for that field. */
export function validationToDomain (err: FastifyError): ValidationError {
  const first = err.validation?.[0]
  const params = (first?.params ?? {}) as Record<string, unknown>
  const field = String(params.missingProperty ?? first?.instancePath?.split('/')[1] ?? '') || undefined
  if (field === 'email') {
    return first?.keyword === 'required'
      ? new ValidationError('email_required', 'Enter your email address.', 'email')
      : new ValidationError('email_invalid', 'Enter an email address like name@example.com.', 'email')
  }
  return new ValidationError('invalid_request', field ? `The field "${field}" is invalid.` : 'The request is invalid.', field)
}

export function toProblem (err: unknown): HttpProblem {
  if (err instanceof ValidationError) {
    return { status: err.statusCode, code: err.code, message: err.message, ...(err.field ? { field: err.field } : {}) }
  }
  if (err instanceof DomainError) return { status: err.statusCode, code: err.code, message: err.message }
  const fe = err as Partial<FastifyError>
  if (fe.validation) return toProblem(validationToDomain(fe as FastifyError))
  const status = fe.statusCode ?? 500
  if (status >= 400 && status < 500) {
    const [code, message] = CLIENT_ERRORS[status] ?? ['bad_request', 'The request could not be understood.']
    return { status, code, message }
  }
  return { status: 500, code: 'internal_error', message: 'Something went wrong on our side. Please try again later.' }
}

export function wantsJson (request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? ''
  if (accept.includes('application/json')) return true
  if (accept.includes('text/html')) return false
  return (request.headers['content-type'] ?? '').startsWith('application/json')
}

/** How one scope shows its errors; everything else (status, code, logging, JSON) is shared. */
export interface ErrorView {
  /** the site name of the default page */
  site: string
  /** machines call this scope: JSON whatever the request accepts */
  json?: boolean
  /** a scope's own reading of an error (a token route's schema error is an invalid link) */
  problem?: (err: unknown, problem: HttpProblem) => HttpProblem
  /**
   * The scope's own answer for an HTML request, or undefined for the default page. It may set
   * headers and answer itself (a redirect), then it returns the reply.
   */
  page?: (problem: HttpProblem, request: FastifyRequest, reply: FastifyReply, err: unknown) => Promise<string | FastifyReply | undefined> | string | FastifyReply | undefined
}

export async function replyWithError (err: unknown, request: FastifyRequest, reply: FastifyReply, view: ErrorView): Promise<FastifyReply> {
  const base = toProblem(err)
  const problem = view.problem ? view.problem(err, base) : base
  if (problem.status >= 500) request.log.error({ err }, 'request failed')
  else request.log.info({ code: problem.code, status: problem.status }, 'request rejected')
  if (problem.status === 503) reply.header('retry-after', '60')
  if (view.json || wantsJson(request)) {
    return reply.code(problem.status).type('application/json; charset=utf-8')
      .send({ code: problem.code, message: problem.message, ...(problem.field ? { field: problem.field } : {}) })
  }
  const own = await view.page?.(problem, request, reply, err)
  if (own !== undefined && typeof own !== 'string') return own
  const title = problem.status >= 500 ? 'Sorry, that did not work' : 'That did not work'
  return reply.code(problem.status).type('text/html; charset=utf-8').send(own ?? messagePage({ site: view.site }, title, problem.message))
}
