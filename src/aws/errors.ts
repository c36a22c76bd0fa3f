// Classifies AWS SDK errors so that use cases can speak in product terms.
export interface AwsErrorShape {
  name?: string
  Code?: string
  $metadata?: { httpStatusCode?: number }
}

function shape (err: unknown): AwsErrorShape {
  return (typeof err === 'object' && err !== null) ? err as AwsErrorShape : {}
}

export function httpStatusOf (err: unknown): number | undefined {
  return shape(err).$metadata?.httpStatusCode
}

/**
 * A conditional write lost: `If-None-Match: *` found an object, or `If-Match` an other ETag (412),
 * or a concurrent conditional write is in flight (409 ConditionalRequestConflict).
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html
 */
export function isConditionFailed (err: unknown): boolean {
  const e = shape(err)
  return e.name === 'PreconditionFailed' || e.name === 'ConditionalRequestConflict' ||
    httpStatusOf(err) === 412 || httpStatusOf(err) === 409
}

export function isNotFound (err: unknown): boolean {
  const e = shape(err)
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || httpStatusOf(err) === 404
}
