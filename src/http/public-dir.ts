// Where the browser assets live. Two folders below the root both here (src/http/) and in the bundle
// (dist/node/), so the one relative URL resolves the same from both (build/build.ts).
export const PUBLIC_DIR = new URL('../../public/', import.meta.url)
