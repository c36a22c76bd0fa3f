// Validators and serializers generated at build time (`npm run build` writes dist/schemas.cjs), so
// that start-up neither creates an Ajv instance nor generates code. Each is found by a hash of all
// its generated code depends on (schema, options, shared schemas); a schema with no match (changed
// without a rebuild, or shaped by a setting) is compiled at run time exactly as Fastify would.
import { createHash } from 'node:crypto'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import type { FastifyServerOptions } from 'fastify'

/** Both entries (src/schema/ and the bundle's dist/node/) sit two folders below the project root. */
export const PRECOMPILED_FILE = fileURLToPath(new URL('../../dist/schemas.cjs', import.meta.url))

/** Generated code is CommonJS; each entry runs it against a fresh module object. */
type ModuleFactory = (module: { exports: unknown }, exports: unknown, require: NodeJS.Require) => void
export interface PrecompiledStore {
  validators: Record<string, ModuleFactory>
  serializers: Record<string, ModuleFactory>
}

export interface CompileStats {
  /** validators and serializers taken from the build */
  precompiled: number
  /** compiled at run time, because the build had nothing for their schema */
  compiled: number
}

type CompilersFactory = NonNullable<NonNullable<FastifyServerOptions['schemaController']>['compilersFactory']>
type BuildValidator = NonNullable<CompilersFactory['buildValidator']>
type BuildSerializer = NonNullable<CompilersFactory['buildSerializer']>
type RouteSchema = Parameters<ReturnType<BuildValidator>>[0]
type ResponseSchema = Parameters<ReturnType<BuildSerializer>>[0]

export function schemaKey (kind: string, parts: unknown): string {
  return `${kind}:${createHash('sha256').update(JSON.stringify(parts)).digest('base64url')}`
}

const validatorKey = (route: RouteSchema, externalSchemas: unknown, ajvOptions: string): string =>
  schemaKey('validator', [route.httpPart, route.schema, externalSchemas, ajvOptions])
const serializerKey = (route: ResponseSchema, externalSchemas: unknown, serializerOptions: string): string =>
  schemaKey('serializer', [route.schema, externalSchemas, serializerOptions])

/** Fastify lower-cases header schemas only for its own compiler; refuse rather than match differently. */
function refuseHeaders (route: RouteSchema): void {
  if (route.httpPart === 'headers') {
    throw new Error(`${route.method} ${route.url}: header schemas are not supported with precompiled validators (src/schema/precompiled.ts)`)
  }
}

const requireHere = createRequire(import.meta.url)

// Fastify's own compilers (Ajv, fast-json-stringify's code generator) load only when something must
// be compiled here: with a complete build, start-up never loads Ajv at all.
type AjvCompilerModule = typeof import('@fastify/ajv-compiler')
type SerializerCompilerModule = typeof import('@fastify/fast-json-stringify-compiler')
const ajvCompiler = (): AjvCompilerModule => requireHere('@fastify/ajv-compiler') as AjvCompilerModule
const serializerCompiler = (): SerializerCompilerModule => requireHere('@fastify/fast-json-stringify-compiler') as SerializerCompilerModule

/** The build's store, or null when there is none yet (a clean checkout before `npm run build`). */
export function loadPrecompiled (file = PRECOMPILED_FILE): PrecompiledStore | null {
  try {
    return requireHere(file) as PrecompiledStore
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && String((err as Error).message).includes(file)) return null
    throw err
  }
}

/** Runs one generated module; its require() resolves packages from the project root, as the build's did. */
export function instantiate<T> (factory: ModuleFactory): T {
  const module = { exports: {} as unknown }
  factory(module, module.exports, requireHere)
  return module.exports as T
}

/** Fastify's compilersFactory: precompiled code where the build has it, Fastify's own compilers otherwise. */
export function precompiledCompilers (store: PrecompiledStore | null, stats: CompileStats = { precompiled: 0, compiled: 0 }): { buildValidator: BuildValidator, buildSerializer: BuildSerializer, stats: CompileStats } {
  const buildValidator: BuildValidator = (externalSchemas, ajvOptions) => {
    const options = JSON.stringify(ajvOptions ?? {})
    let fallback: ReturnType<BuildValidator> | undefined
    return route => {
      refuseHeaders(route)
      const factory = store?.validators[validatorKey(route, externalSchemas, options)]
      if (factory) {
        stats.precompiled++
        return instantiate(factory)
      }
      stats.compiled++
      fallback ??= ajvCompiler()()(externalSchemas, ajvOptions)
      return fallback(route)
    }
  }
  const buildSerializer: BuildSerializer = (externalSchemas, serializerOptions) => {
    const options = JSON.stringify(serializerOptions ?? {})
    let fallback: ReturnType<BuildSerializer> | undefined
    return route => {
      const factory = store?.serializers[serializerKey(route, externalSchemas, options)]
      if (factory) {
        stats.precompiled++
        return instantiate(factory)
      }
      stats.compiled++
      fallback ??= serializerCompiler().SerializerSelector()(externalSchemas, serializerOptions)
      return fallback(route)
    }
  }
  return { buildValidator, buildSerializer, stats }
}

/** Generated source of every validator and serializer an app compiles, keyed as precompiledCompilers looks them up. */
export interface Recorded {
  validators: Map<string, string>
  serializers: Map<string, string>
}

/** Build time: Fastify's standalone compilers, recording each function's source under its key. */
export function recordingCompilers (recorded: Recorded): { buildValidator: BuildValidator, buildSerializer: BuildSerializer } {
  const buildValidator: BuildValidator = (externalSchemas, ajvOptions) => {
    // Keyed by the options as run time sees them: the standalone compiler adds its code-generation option.
    // (It sets that option on the object it is given: give it a copy.)
    const options = JSON.stringify(ajvOptions ?? {})
    const compile = ajvCompiler().StandaloneValidator({
      readMode: false,
      storeFunction: (route, code) => { recorded.validators.set(validatorKey(route, externalSchemas, options), code) }
    })(externalSchemas, { ...ajvOptions })
    return route => {
      refuseHeaders(route)
      return compile(route)
    }
  }
  const buildSerializer: BuildSerializer = (externalSchemas, serializerOptions) => {
    const options = JSON.stringify(serializerOptions ?? {})
    return serializerCompiler().StandaloneSerializer({
      readMode: false,
      storeFunction: (route, code) => { recorded.serializers.set(serializerKey(route, externalSchemas, options), code) }
    })(externalSchemas, serializerOptions)
  }
  return { buildValidator, buildSerializer }
}

/** The text of dist/schemas.cjs: every recorded module, wrapped so it runs only when its route is compiled. */
export function renderStore (recorded: Recorded): string {
  const entries = (map: Map<string, string>): string => [...map]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, code]) => `  ${JSON.stringify(key)}: function (module, exports, require) {\n${code}\n  }`)
    .join(',\n')
  return [
    "'use strict'",
    '// Generated by `npm run build` (build/schemas.ts) from the route schemas: do not edit.',
    `exports.validators = {\n${entries(recorded.validators)}\n}`,
    `exports.serializers = {\n${entries(recorded.serializers)}\n}`,
    ''
  ].join('\n')
}
