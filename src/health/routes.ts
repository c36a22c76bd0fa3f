// Health: /healthz says the process is up (liveness); it touches nothing outside the process.
import { Type } from 'typebox'
import type { App } from '../app.ts'

export const HealthSchema = Type.Object({ status: Type.Literal('ok', { description: 'always ok while the process serves requests' }) })

export default async function healthRoutes (app: App) {
  app.get('/healthz', {
    schema: { response: { 200: HealthSchema } },
    logLevel: 'warn'
  }, async () => ({ status: 'ok' as const }))
}
