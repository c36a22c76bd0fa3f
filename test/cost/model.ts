// The cost model: AWS requests and bytes per signup, as counted by test/cost/cost-model.test.ts
// against the emulators, priced at list rates. `node bench/cost.ts` prints the README table.

/**
 * List prices, us-east-1, S3 Standard and SES outbound (checked 2026):
 * https://aws.amazon.com/s3/pricing/ and https://aws.amazon.com/ses/pricing/
 * DeleteObject is free; S3 bills a 404 GET like any GET.
 */
export const PRICES = {
  /** PUT, COPY, POST, LIST: per 1,000 requests */
  s3ClassA: 0.005,
  /** GET, HEAD and the rest: per 1,000 requests */
  s3ClassB: 0.0004,
  /** per GB-month stored (no per-object minimum in S3 Standard) */
  s3StorageGbMonth: 0.023,
  /** per 1,000 emails */
  sesEmail: 0.10
}

/** What every signup of a new address costs by itself, whatever its batch (exact). */
export const PER_SIGNUP = {
  /** the record is read first (a 404 for a new address: same work for a known one) */
  subscriberGet: 1,
  /** then written (If-None-Match for a new address, If-Match for a known one) */
  subscriberPut: 1,
  sendEmail: 1
}

/** What one outbox batch costs, shared by the signups that arrived together (group commit). */
export const PER_BATCH = {
  /** the batch itself, If-None-Match */
  create: 1,
  /** the delivery log of the finished batch (deliveries/<day>/<batch>.json) */
  deliveryLog: 1,
  /** the finished batch is deleted: free */
  delete: 1
}

/**
 * Checkpoints (lease renewal and progress, If-Match) are written after 20 outcomes or 100 ms,
 * whichever comes first (src/outbox/send-loop.ts): how many per email depends on the sending rate.
 * `table` is what the README uses; the test checks the measured figure lies in [min, max].
 */
export const CHECKPOINTS_PER_EMAIL = {
  /** a new SES account's 14 emails/s: one every 100 ms, so about one per 1.4 emails */
  slow: { rate: 14, table: 0.7, min: 0.4, max: 1 },
  /** SES at 200/s: one per 20 outcomes, plus the outcomes of a batch waiting behind another, written within
   * 100 ms (more of those when the machine is slow) */
  fast: { rate: 200, table: 0.1, min: 0.04, max: 0.35 },
  /** a lone signup: 0, or 1 when its send took over 100 ms (worst case in the table) */
  lone: { table: 1, min: 0, max: 1 }
}

/** Bytes, rounded from what the test measures (it checks they stay within 25 %). */
export const BYTES = {
  /** SendEmail request body with SES_TEMPLATES=on (template data, headers, addresses) */
  sendEmailTemplated: 4120,
  /** the subscriber record as stored after one signup */
  subscriberRecord: 670,
  /** a delivery-log line per email (kept; see README "Bucket" for the retention rule) */
  deliveryLogPerEmail: 335
}

/** One click on the emailed link: the reader's presigned GET straight to S3; none from leadlink. */
export const DOWNLOAD_CLICK = { readerGet: 1, serverRequests: 0 }
/** One `/d/<token>` fresh link: leadlink signs locally (cached pointer), the reader then GETs. */
export const FRESH_LINK = { readerGet: 1, serverRequests: 0 }

/** Per instance, whatever the traffic (defaults: OUTBOX_SCAN_SECONDS 5, CATALOG_REFRESH_SECONDS 30). */
export const PER_INSTANCE = {
  /** at start: GetEmailTemplate, plus CreateEmailTemplate when the template is new */
  templateCalls: 2,
  /** SES GetAccount at start and every 5 minutes (none with SES_MAX_SEND_RATE) */
  getAccountEveryS: 300,
  /** the outbox scan: one ListObjectsV2 per OUTBOX_SCAN_SECONDS */
  scanEveryS: 5,
  /** the sender's heartbeat (src/outbox/senders.ts): this PUT and LIST per SEND_HEARTBEAT_SECONDS */
  heartbeatEveryS: 5,
  heartbeatPuts: 1,
  heartbeatLists: 1,
  /** current.json per whitepaper re-read every CATALOG_REFRESH_SECONDS, when it is asked for */
  catalogRefreshS: 30
}

export interface Scenario {
  name: string
  /** signups per outbox batch (the writer's maximum is 100) */
  batch: number
  checkpointsPerEmail: number
}

/** Requests per signup in a scenario (fractions: shared batch writes). */
export function perSignup (s: Scenario) {
  const classA = PER_SIGNUP.subscriberPut + (PER_BATCH.create + PER_BATCH.deliveryLog) / s.batch + s.checkpointsPerEmail
  return { classA, classB: PER_SIGNUP.subscriberGet, ses: PER_SIGNUP.sendEmail }
}

export const SCENARIOS: Scenario[] = [
  { name: 'lone signup (worst case)', batch: 1, checkpointsPerEmail: CHECKPOINTS_PER_EMAIL.lone.table },
  { name: `burst, SES at ${CHECKPOINTS_PER_EMAIL.slow.rate}/s (a new account)`, batch: 100, checkpointsPerEmail: CHECKPOINTS_PER_EMAIL.slow.table },
  { name: `burst, SES at ${CHECKPOINTS_PER_EMAIL.fast.rate}/s`, batch: 100, checkpointsPerEmail: CHECKPOINTS_PER_EMAIL.fast.table }
]

const usd = (n: number) => n >= 100 ? `$${n.toFixed(0)}` : `$${n.toFixed(Math.max(2, 2 - Math.floor(Math.log10(n))))}`
const num = (n: number) => Number.isInteger(n) ? n.toLocaleString('en-US') : n.toLocaleString('en-US', { maximumFractionDigits: 3 })

/** The README table: per signup and per 1,000,000 signups, at list prices. */
export function costTable (): string {
  const rows = ['| scenario | S3 PUT per signup | S3 GET per signup | SES emails | per signup | per 1,000,000 signups |', '|---|---|---|---|---|---|']
  for (const s of SCENARIOS) {
    const p = perSignup(s)
    const one = p.classA * PRICES.s3ClassA / 1000 + p.classB * PRICES.s3ClassB / 1000 + p.ses * PRICES.sesEmail / 1000
    rows.push(`| ${s.name} | ${num(p.classA)} | ${num(p.classB)} | ${p.ses} | ${usd(one)} | ${usd(one * 1e6)} (S3 ${usd((p.classA * PRICES.s3ClassA + p.classB * PRICES.s3ClassB) * 1000)}, SES ${usd(p.ses * PRICES.sesEmail * 1000)}) |`)
  }
  const storedGb = (BYTES.subscriberRecord + BYTES.deliveryLogPerEmail) * 1e6 / 1e9
  const month = 30 * 86400
  const scans = month / PER_INSTANCE.scanEveryS
  const refreshes = month / PER_INSTANCE.catalogRefreshS
  const heartbeats = month / PER_INSTANCE.heartbeatEveryS * (PER_INSTANCE.heartbeatPuts + PER_INSTANCE.heartbeatLists)
  const lines = [
    rows.join('\n'),
    '',
    `- Storage: a subscriber record is about ${num(BYTES.subscriberRecord)} bytes and its delivery-log line about ${num(BYTES.deliveryLogPerEmail)}: 1,000,000 signups keep about ${storedGb.toFixed(2)} GB, ${usd(storedGb * PRICES.s3StorageGbMonth)} a month.`,
    `- SES bytes: each \`SendEmail\` carries about ${(BYTES.sendEmailTemplated / 1000).toFixed(1)} KB (template data); SES bills per email (and per GB of attachments: there are none).`,
    `- A click on the emailed link is ${DOWNLOAD_CLICK.readerGet} S3 GET made by the reader (${usd(PRICES.s3ClassB / 1000)}) and none by leadlink; a \`/d/\` fresh link is ${FRESH_LINK.serverRequests} S3 requests in leadlink plus that GET. Data transfer out of S3 for the PDF itself is billed separately (per GB, after the free allowance) and is usually the largest item: a 1 MB PDF downloaded 1,000,000 times is about 1 TB out.`,
    `- Per instance, whatever the traffic: the outbox scan, ${num(scans)} LIST a month (${usd(scans * PRICES.s3ClassA / 1000)}; \`OUTBOX_SCAN_SECONDS\`=${PER_INSTANCE.scanEveryS}), the sender's heartbeat, ${num(heartbeats)} PUT and LIST a month (${usd(heartbeats * PRICES.s3ClassA / 1000)}; \`SEND_HEARTBEAT_SECONDS\`=${PER_INSTANCE.heartbeatEveryS}), \`current.json\` re-read ${num(refreshes)} times a month per whitepaper in use (${usd(refreshes * PRICES.s3ClassB / 1000)}), SES \`GetAccount\` every ${PER_INSTANCE.getAccountEveryS / 60} minutes and ${PER_INSTANCE.templateCalls} template calls at start (no charge).`,
    `- List prices, us-east-1: S3 Standard PUT/COPY/POST/LIST $${PRICES.s3ClassA} and GET $${PRICES.s3ClassB} per 1,000, $${PRICES.s3StorageGbMonth} per GB-month; SES $${PRICES.sesEmail.toFixed(2)} per 1,000 emails. DeleteObject is free.`
  ]
  return lines.join('\n')
}
