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
