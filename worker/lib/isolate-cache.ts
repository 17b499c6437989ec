/**
 * Small caches that live as long as the isolate, for the hot paths where the same row is read for
 * request after request (a relay's authors, their keys, a host's signature scheme). They hold
 * resolved values only, never promises: Workers ties a promise to the request that made it, and
 * another request awaiting it hangs or fails.
 *
 * Entries expire after `ttlMs`; past `max` entries the oldest inserted goes first. Whatever a cache
 * holds may be up to `ttlMs` old in this isolate and is never shared with another one, so only data
 * that may lag that long belongs here; a writer in the same isolate deletes what it changed.
 */
export interface IsolateCache<K, V> {
  get(key: K): V | undefined;
  set(key: K, value: V): void;
  delete(key: K): void;
  clear(): void;
}

const registry = new Set<() => void>();

export function isolateCache<K, V>(opts: { ttlMs: number; max: number }): IsolateCache<K, V> {
  const entries = new Map<K, { value: V; at: number }>();
  const cache: IsolateCache<K, V> = {
    get(key) {
      const entry = entries.get(key);
      if (!entry) return undefined;
      if (Date.now() - entry.at > opts.ttlMs) {
        entries.delete(key);
        return undefined;
      }
      return entry.value;
    },
    set(key, value) {
      if (value instanceof Promise) throw new TypeError("isolate caches hold values, not promises");
      entries.delete(key);
      if (entries.size >= opts.max) entries.delete(entries.keys().next().value as K);
      entries.set(key, { value, at: Date.now() });
    },
    delete: (key) => void entries.delete(key),
    clear: () => entries.clear(),
  };
  registry.add(cache.clear);
  return cache;
}

/** Registers another per-isolate state to be reset by forgetIsolateCaches. */
export function onForgetIsolateCaches(clear: () => void): void {
  registry.add(clear);
}

/**
 * Empties every isolate cache. For tests, whose database is new for each test while the isolate
 * (and so every module's state) lives on.
 */
export function forgetIsolateCaches(): void {
  for (const clear of registry) clear();
}
