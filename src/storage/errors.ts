// Classifies S3 errors: a missing key, and a conditional request that did not hold.
import { errorNameOf, httpStatusOf } from '../aws/errors.ts'

/**
 * A conditional write lost: `If-None-Match: *` found an object, or `If-Match` an other ETag (412),
 * or a concurrent conditional write is in flight (409 ConditionalRequestConflict).
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
 */
export function isConditionFailed (err: unknown): boolean {
  return isPreconditionFailed(err) || isConditionInFlight(err)
}

/** 412: the condition was checked and did not hold (the object is there, or has another ETag). */
export function isPreconditionFailed (err: unknown): boolean {
  return errorNameOf(err) === 'PreconditionFailed' || httpStatusOf(err) === 412
}

/** 409 ConditionalRequestConflict: another conditional write to the key is still in flight and may yet fail. */
export function isConditionInFlight (err: unknown): boolean {
  return errorNameOf(err) === 'ConditionalRequestConflict' || httpStatusOf(err) === 409
}

export function isNotFound (err: unknown): boolean {
  const name = errorNameOf(err)
  return name === 'NoSuchKey' || name === 'NotFound' || httpStatusOf(err) === 404
}
