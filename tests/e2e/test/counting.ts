// A KVNamespace that counts the calls made to it, for tests where the number
// of KV operations is the behaviour under test (limits are checked before KV
// is called; getOrSet reads once and writes once).

export interface Counts {
	get: number;
	getWithMetadata: number;
	put: number;
	delete: number;
	list: number;
}

/** The arguments of every counted call, by method. */
export type Calls = Record<keyof Counts, unknown[][]>;

export function counting(kv: KVNamespace): { kv: KVNamespace; counts: Counts; calls: Calls } {
	const counts: Counts = { get: 0, getWithMetadata: 0, put: 0, delete: 0, list: 0 };
	const calls: Calls = { get: [], getWithMetadata: [], put: [], delete: [], list: [] };
	const wrapped = new Proxy(kv, {
		get(target, property, receiver) {
			const value: unknown = Reflect.get(target, property, receiver);
			if (typeof value !== "function" || !(property in counts)) {
				return value;
			}
			return (...args: unknown[]) => {
				counts[property as keyof Counts] += 1;
				calls[property as keyof Counts].push(args);
				return (value as (...a: unknown[]) => unknown).apply(target, args);
			};
		},
	});
	return { kv: wrapped, counts, calls };
}

/** Total KV operations counted so far. */
export function total(counts: Counts): number {
	return counts.get + counts.getWithMetadata + counts.put + counts.delete + counts.list;
}
