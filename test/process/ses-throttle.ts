// An SES account's sending rate in front of the SES emulator (aws-ses-v2-local has none): a loopback
// proxy that answers SendEmail with 429 TooManyRequestsException once `rate` sends were accepted in the
// last second (any 1-second window, throttled calls not counted), answers GetAccount with that rate as
// MaxSendRate, forwards everything else, and counts. https://docs.aws.amazon.com/ses/latest/dg/manage-sending-quotas.html
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Teardown } from '../helper.ts'

// What SES v2 answers past the sending rate. https://docs.aws.amazon.com/ses/latest/APIReference-V2/API_SendEmail.html#API_SendEmail_Errors
const THROTTLED = '{"__type":"TooManyRequestsException","message":"Maximum sending rate exceeded."}'
const WINDOW_MS = 1000

export interface ThrottledSes {
  /** the proxy's endpoint, for SES_ENDPOINT */
  url: string
  /** SendEmail calls let through to the emulator */
  sent: () => number
  /** SendEmail calls answered 429 */
  throttled: () => number
  /** GetAccount calls answered */
  getAccount: () => number
  /** the most SendEmail calls let through in one 1-second window so far */
  busiestSecond: () => number
}

function account (rate: number): string {
  return JSON.stringify({
    DedicatedIpAutoWarmupEnabled: false,
    EnforcementStatus: 'HEALTHY',
    ProductionAccessEnabled: true,
    SendingEnabled: true,
    SendQuota: { Max24HourSend: 1_000_000, MaxSendRate: rate, SentLast24Hours: 0 },
    SuppressionAttributes: { SuppressedReasons: [] }
  })
}

export async function throttledSes (t: Teardown, target: string, rate: number): Promise<ThrottledSes> {
  const upstream = new URL(target)
  const accepted: number[] = []
  let sent = 0
  let throttled = 0
  let getAccount = 0
  let busiest = 0

  function reply (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-amzn-requestid': 'throttle-proxy', ...headers })
    res.end(body)
  }

  function forward (req: IncomingMessage, res: ServerResponse): void {
    // A connection per request: the emulator closes idle keep-alive sockets, and a reused one that it
    // has just closed would fail a send that SES never saw.
    const out = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, connection: 'close' } }, answer => {
      res.writeHead(answer.statusCode ?? 502, answer.headers)
      answer.pipe(res)
    })
    out.on('error', () => { if (!res.headersSent) reply(res, 502, '{"message":"emulator unreachable"}') })
    req.pipe(out)
  }

  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url?.startsWith('/v2/email/account')) {
      getAccount++
      req.resume()
      reply(res, 200, account(rate))
      return
    }
    if (req.method === 'POST' && req.url?.startsWith('/v2/email/outbound-emails')) {
      const now = performance.now()
      while (accepted.length > 0 && (accepted[0] as number) <= now - WINDOW_MS) accepted.shift()
      if (accepted.length >= rate) {
        throttled++
        req.resume()
        reply(res, 429, THROTTLED, { 'x-amzn-ErrorType': 'TooManyRequestsException' })
        return
      }
      accepted.push(now)
      busiest = Math.max(busiest, accepted.length)
      sent++
    }
    forward(req, res)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    server.closeAllConnections()
    await new Promise(resolve => server.close(resolve))
  })
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sent: () => sent,
    throttled: () => throttled,
    getAccount: () => getAccount,
    busiestSecond: () => busiest
  }
}
