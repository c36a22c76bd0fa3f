// Responses that are not JSON (HTML pages, redirects, CSV, assets) go out as the strings they are. Their
// response schemas stay (they document the API in /docs/json), but no serializer is compiled for them.
import type { FastifySerializerCompiler } from 'fastify'

const asIs: FastifySerializerCompiler<unknown> = () => data => typeof data === 'string' ? data : JSON.stringify(data)

/** Spread into a route's options: `app.get(url, { ...AS_IS, schema }, handler)`. */
export const AS_IS = { serializerCompiler: asIs }
