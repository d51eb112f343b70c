// One-at-a-time sections per app instance: a money operation whose check and write must not
// interleave with another of its kind in this process (quarantine replay). Operations that must not
// interleave across processes either (month close, shared-cost entry) use src/cluster/lock.ts.
const tails = new WeakMap<object, Map<string, Promise<unknown>>>();

/** Run `fn` after every earlier call with the same owner and name has settled. */
export function serially<T>(owner: object, name: string, fn: () => Promise<T>): Promise<T> {
  let byName = tails.get(owner);
  if (!byName) tails.set(owner, (byName = new Map()));
  const result = (byName.get(name) ?? Promise.resolve()).then(fn);
  byName.set(name, result.catch(() => undefined));
  return result;
}
