// Small helpers the behaviour tests share.

/** The current time in whole seconds, from the (possibly faked) clock. */
export const nowSeconds = () => Math.floor(Date.now() / 1000);

/** The raw entry for `name` as KV itself lists it (expiration, metadata). */
export async function listed(kv: KVNamespace, name: string) {
	const page = await kv.list({ prefix: name });
	return page.keys.find((k) => k.name === name);
}

/** Every key name in `kv`, in KV's order (one list() page: at most 1000). */
export async function names(kv: KVNamespace): Promise<string[]> {
	const page = await kv.list();
	return page.keys.map((k) => k.name);
}
