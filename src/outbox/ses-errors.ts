// Classifies why an email was not delivered: retry later (throttling, 5xx, network) or give up for
// this recipient (rejected, bad address, sending paused, whitepaper gone). https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_SendEmail.html
import { httpStatusOf } from '../aws/errors.ts'

export type SendFailure =
  | { kind: 'retry', reason: string, throttled: boolean }
  | { kind: 'permanent', reason: string }

/** What `deliver` throws when it knows why: the worker retries or gives up by its `failure`. */
export class DeliveryFailure extends Error {
  readonly failure: SendFailure
  /** a download link was put into the email before it failed (counted as minted) */
  readonly linkMinted: boolean

  constructor (failure: SendFailure, linkMinted: boolean, options?: ErrorOptions) {
    super(`email not delivered: ${failure.reason}`, options)
    this.name = 'DeliveryFailure'
    this.failure = failure
    this.linkMinted = linkMinted
  }
}

const PERMANENT = new Set([
  'MessageRejected',
  'MailFromDomainNotVerifiedException',
  'AccountSuspendedException',
  'SendingPausedException',
  'BadRequestException',
  'NotFoundException'
])

const THROTTLING = new Set(['TooManyRequestsException', 'ThrottlingException', 'Throttling', 'LimitExceededException'])

export function classifySendError (err: unknown): SendFailure {
  const e = (typeof err === 'object' && err !== null ? err : {}) as { name?: string, message?: string }
  const name = e.name ?? 'Error'
  const message = e.message ?? ''
  const status = httpStatusOf(err)
  if (THROTTLING.has(name) || /maximum sending rate exceeded|rate exceeded|throttl/i.test(message) || status === 429) {
    return { kind: 'retry', reason: 'throttled', throttled: true }
  }
  if (PERMANENT.has(name)) return { kind: 'permanent', reason: name }
  if (status !== undefined && status >= 500) return { kind: 'retry', reason: `http_${status}`, throttled: false }
  if (status !== undefined && status >= 400) return { kind: 'permanent', reason: name }
  // No HTTP status: the network (reset, timeout, DNS): try again.
  return { kind: 'retry', reason: 'network', throttled: false }
}
