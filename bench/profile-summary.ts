// Summarises a V8 .cpuprofile (node --cpu-prof): self time by function and by package, total time by src/ function.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fmt, type Log } from './stats.ts'

interface ProfileNode {
  id: number
  callFrame: { functionName: string, url: string, lineNumber: number }
  children?: number[]
}

interface CpuProfile {
  nodes: ProfileNode[]
  samples: number[]
  timeDeltas: number[]
}

export interface ProfileSummary {
  totalMs: number
  /** time outside JavaScript and idle: (idle), (program), (garbage collector) */
  special: Array<[string, number]>
  byPackage: Array<[string, number]>
  selfByFunction: Array<[string, number]>
  /** time with at least one frame of the project's src/ on the stack, per function */
  totalBySrcFunction: Array<[string, number]>
}

/** Where a frame comes from: an npm package, a project file, Node internals or V8 itself. */
function origin (url: string, root: string): string {
  if (url === '') return '(native)'
  if (url.startsWith('node:')) return 'node: internals'
  const path = url.startsWith('file://') ? decodeURIComponent(url.slice(7)) : url
  const nm = path.lastIndexOf('/node_modules/')
  if (nm !== -1) {
    const parts = path.slice(nm + 14).split('/')
    return (parts[0] ?? '').startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] ?? '?')
  }
  return path.startsWith(root) ? path.slice(root.length) : path
}

function top (map: Map<string, number>, n: number): Array<[string, number]> {
  return [...map].sort((a, b) => b[1] - a[1]).slice(0, n)
}

export function summariseProfile (file: string, root: string, n = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
  const byId = new Map(profile.nodes.map(node => [node.id, node]))
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)

  const label = (node: ProfileNode) => {
    const where = origin(node.callFrame.url, root)
    return `${node.callFrame.functionName || '(anonymous)'} ${where}${node.callFrame.url ? `:${node.callFrame.lineNumber + 1}` : ''}`
  }
  const self = new Map<string, number>()
  const packages = new Map<string, number>()
  const special = new Map<string, number>()
  const srcTotal = new Map<string, number>()
  let totalMs = 0

  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i] as number)
    const ms = (profile.timeDeltas[i] ?? 0) / 1000
    if (!node || ms <= 0) continue
    totalMs += ms
    const name = node.callFrame.functionName
    if (node.callFrame.url === '' && /^\((idle|program|garbage collector|root)\)$/.test(name)) {
      special.set(name, (special.get(name) ?? 0) + ms)
      continue
    }
    self.set(label(node), (self.get(label(node)) ?? 0) + ms)
    const pkg = origin(node.callFrame.url, root)
    packages.set(pkg, (packages.get(pkg) ?? 0) + ms)
    // Inclusive time of project functions: count each one once per sample, however deep it recurs.
    const seen = new Set<string>()
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)
      if (!frame) break
      const where = origin(frame.callFrame.url, root)
      if (!where.startsWith('src/')) continue
      const key = label(frame)
      if (seen.has(key)) continue
      seen.add(key)
      srcTotal.set(key, (srcTotal.get(key) ?? 0) + ms)
    }
  }
  return {
    totalMs,
    special: top(special, 10),
    byPackage: top(packages, n),
    selfByFunction: top(self, n),
    totalBySrcFunction: top(srcTotal, n)
  }
}

/** Every profile in `dir`, leadlink's attributed to its checkout's files, the others to this one's. */
export function printProfiles (dir: string, leadlinkRoot: string, root: string, log: Log): void {
  log('\n== CPU profiles (whole process lifetime: start-up, warm-up and load)')
  log('   work resumed after an await (SDK middleware, socket callbacks) runs under runMicrotasks or node internals,')
  log('   not under the src/ function that awaited it: read the src/ totals as lower bounds')
  for (const file of readdirSync(dir).filter(f => f.endsWith('.cpuprofile')).sort()) {
    const s = summariseProfile(join(dir, file), file.startsWith('leadlink') ? `${leadlinkRoot}/` : root)
    const pct = (ms: number) => `${fmt(ms / s.totalMs * 100, 1).padStart(5)}%`
    log(`\n-- ${file}: ${fmt(s.totalMs)} ms sampled; ${s.special.map(([n, ms]) => `${n} ${pct(ms).trim()}`).join(', ')}`)
    log('   self time by package or file:')
    for (const [name, ms] of s.byPackage) log(`     ${pct(ms)}  ${name}`)
    log('   self time by function:')
    for (const [name, ms] of s.selfByFunction) log(`     ${pct(ms)}  ${name}`)
    if (s.totalBySrcFunction.length) {
      log('   total time (self and callees) by src/ function:')
      for (const [name, ms] of s.totalBySrcFunction) log(`     ${pct(ms)}  ${name}`)
    }
  }
}
