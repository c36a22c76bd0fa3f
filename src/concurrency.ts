// Maps an (async) iterable through an async function with at most `concurrency` calls in flight,
// yielding results in input order: memory stays flat however long the input is.

export async function * mapBounded<T, R> (
  input: AsyncIterable<T> | Iterable<T>,
  concurrency: number,
  fn: (item: T) => Promise<R>
): AsyncGenerator<R> {
  const window: Array<Promise<R>> = []
  try {
    for await (const item of input) {
      const pending = fn(item)
      // Until it is awaited below, a rejection must not count as unhandled.
      pending.catch(() => {})
      window.push(pending)
      if (window.length >= concurrency) yield await (window.shift() as Promise<R>)
    }
    while (window.length > 0) yield await (window.shift() as Promise<R>)
  } finally {
    // Stopped early (an error, or the consumer broke off): let the calls in flight settle quietly.
    await Promise.allSettled(window)
  }
}

/** All results of `mapBounded`, in input order (for inputs known to be small). */
export async function mapAll<T, R> (input: Iterable<T>, concurrency: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = []
  for await (const result of mapBounded(input, concurrency, fn)) out.push(result)
  return out
}

/**
 * Pulls up to `ahead` items of `source` before they are asked for, so that a slow step of the source
 * (the next ListObjectsV2 page) overlaps with the work on the items before it.
 */
export async function * readAhead<T> (source: AsyncIterable<T>, ahead: number): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]()
  const buffered: Array<Promise<IteratorResult<T>>> = []
  try {
    for (;;) {
      while (buffered.length < ahead) {
        const next = iterator.next()
        // Awaited in turn below; until then a failure must not count as unhandled.
        next.catch(() => {})
        buffered.push(next)
      }
      const result = await (buffered.shift() as Promise<IteratorResult<T>>)
      if (result.done) return
      yield result.value
    }
  } finally {
    await Promise.allSettled(buffered)
    await iterator.return?.()
  }
}
