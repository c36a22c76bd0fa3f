// What every AWS SDK error carries (its name and HTTP status), for the code that classifies them:
// S3's in src/storage/errors.ts, SES's in src/outbox/ses-errors.ts.
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

export function errorNameOf (err: unknown): string | undefined {
  return shape(err).name
}

// TEMPORARY (storage helper): src/outbox still imports these; they move to src/storage/errors.ts.
export function isConditionFailed (err: unknown): boolean {
  const name = errorNameOf(err)
  return name === 'PreconditionFailed' || name === 'ConditionalRequestConflict' || httpStatusOf(err) === 412 || httpStatusOf(err) === 409
}

export function isNotFound (err: unknown): boolean {
  const name = errorNameOf(err)
  return name === 'NoSuchKey' || name === 'NotFound' || httpStatusOf(err) === 404
}
