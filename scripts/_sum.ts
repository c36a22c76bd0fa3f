import { summariseProfile } from './bench/profile-summary.ts'
const s = summariseProfile(process.argv[2] as string, '/work/main/', 25)
const pct = (ms: number) => `${(ms / s.totalMs * 100).toFixed(1).padStart(5)}%`
console.log(process.argv[2], s.totalMs.toFixed(0), 'ms', s.special.map(([n, ms]) => `${n} ${pct(ms)}`).join(', '))
for (const [n, ms] of s.byPackage) console.log(' pkg', pct(ms), n)
for (const [n, ms] of s.selfByFunction) console.log(' fn ', pct(ms), n)
for (const [n, ms] of s.totalBySrcFunction) console.log(' src', pct(ms), n)
