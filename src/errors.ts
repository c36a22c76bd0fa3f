// Domain errors: small classes with a stable code, mapped to HTTP statuses by the error handler.
export class DomainError extends Error {
  readonly code: string
  readonly statusCode: number
  constructor (code: string, message: string, statusCode: number, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'DomainError'
    this.code = code
    this.statusCode = statusCode
  }
}

export class NotFoundError extends DomainError {
  constructor (code: string, message: string) { super(code, message, 404) }
}

export class ValidationError extends DomainError {
  readonly field: string | undefined
  constructor (code: string, message: string, field?: string) {
    super(code, message, 422)
    this.field = field
  }
}

export class ConflictError extends DomainError {
  constructor (code: string, message: string) { super(code, message, 409) }
}

/** S3 or SES failed after the SDK's own retries: the visitor is told to try again shortly. */
export class UnavailableError extends DomainError {
  constructor (message: string, options?: { cause?: unknown }) { super('unavailable', message, 503, options) }
}
