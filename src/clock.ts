// The one clock type: milliseconds since the epoch. Everything that reads time takes a Clock, so
// tests move time by passing their own.
export type Clock = () => number

export const systemClock: Clock = Date.now

/** The clock's time as a Date (records and logs keep ISO strings). */
export const dateOf = (clock: Clock): Date => new Date(clock())
