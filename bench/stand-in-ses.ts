// The bench's SES v2 stand-in: SendEmail (throttled as SES throttles when a rate is set), stored
// templates, and GetAccount reporting the sending quota leadlink paces itself to.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { SesLimits, StandInState } from './stand-ins.ts'

// What SES v2 answers past the sending rate: 429 TooManyRequestsException, "Maximum sending rate exceeded."
// https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_SendEmail.html#API_SendEmail_Errors
// https://docs.aws.amazon.com/ses/latest/dg/manage-sending-quotas.html
const THROTTLED_REPLY = '{"__type":"TooManyRequestsException","message":"Maximum sending rate exceeded."}'
export const UNTHROTTLED_MAX_SEND_RATE = 1e5

/** Sets the sending limits (omitted: unthrottled, GetAccount following) and fills the send bucket. */
export function limitSes (state: StandInState, next: Partial<SesLimits>): SesLimits {
  const sendRate = Math.max(0, next.sendRate ?? 0)
  state.limits = { sendRate, maxSendRate: next.maxSendRate ?? (sendRate > 0 ? sendRate : UNTHROTTLED_MAX_SEND_RATE) }
  state.sendBucket = { tokens: sendRate, at: performance.now() }
  return state.limits
}

/** Takes a send from the token bucket (one second's worth at most); false when the rate is exceeded. */
function maySend (state: StandInState): boolean {
  const { limits, sendBucket } = state
  if (limits.sendRate <= 0) return true
  const now = performance.now()
  sendBucket.tokens = Math.min(limits.sendRate, sendBucket.tokens + (now - sendBucket.at) / 1000 * limits.sendRate)
  sendBucket.at = now
  if (sendBucket.tokens < 1) return false
  sendBucket.tokens -= 1
  return true
}

function json (res: ServerResponse, status: number, reply: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(reply), 'x-amzn-requestid': 'bench', ...headers })
  res.end(reply)
}

function sendEmail (state: StandInState, res: ServerResponse, body: Buffer): void {
  const { stats } = state
  if (!maySend(state)) {
    stats.sesThrottled++
    json(res, 429, THROTTLED_REPLY, { 'x-amzn-ErrorType': 'TooManyRequestsException' })
    return
  }
  stats.sesSend++
  stats.sesLastSendAt = Date.now()
  stats.sesBytes += body.length
  const sent = JSON.parse(body.toString('utf8')) as { Destination?: { ToAddresses?: string[] } }
  stats.sesRecipients += sent.Destination?.ToAddresses?.length ?? 0
  json(res, 200, `{"MessageId":"bench-${(++state.messageCounter).toString(36)}"}`)
}

/** One SES v2 request (path under /v2/email/), its body already read. */
export function handleSes (state: StandInState, req: IncomingMessage, res: ServerResponse, path: string, body: Buffer): void {
  if (req.method === 'POST' && path === '/v2/email/outbound-emails') {
    sendEmail(state, res, body)
    return
  }
  // Stored templates, as SES keeps them: leadlink stores its email once and then sends only data.
  const template = /^\/v2\/email\/templates\/([^/]+)$/.exec(path)
  if (req.method === 'GET' && template) {
    const found = state.templates.get(decodeURIComponent(template[1] as string))
    if (found) json(res, 200, found)
    else json(res, 404, '{"message":"Template does not exist"}', { 'x-amzn-errortype': 'NotFoundException' })
    return
  }
  if (req.method === 'POST' && path === '/v2/email/templates') {
    const parsed = JSON.parse(body.toString('utf8')) as { TemplateName: string }
    state.templates.set(parsed.TemplateName, body.toString('utf8'))
    json(res, 200, '{}')
    return
  }
  if (req.method === 'GET' && path === '/v2/email/account') {
    state.stats.sesGetAccount++
    // The throttle's rate, or unthrottled a generous quota: the bench then measures the service, not SES's limits.
    json(res, 200, JSON.stringify({
      SendQuota: { MaxSendRate: state.limits.maxSendRate, Max24HourSend: 1e6, SentLast24Hours: 0 },
      SendingEnabled: true,
      ProductionAccessEnabled: true,
      EnforcementStatus: 'HEALTHY'
    }))
    return
  }
  state.stats.sesOther++
  json(res, 404, '{"message":"The bench stand-in does not implement this request."}', { 'x-amzn-errortype': 'NotFoundException' })
}
