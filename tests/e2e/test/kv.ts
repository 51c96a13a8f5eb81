// Small helpers the behaviour tests share.

/** The current time in whole seconds, from the (possibly faked) clock. */
export const nowSeconds = () => Math.floor(Date.now() / 1000);

/** The raw entry for `name` as KV itself lists it (expiration, metadata). */
export async function listed(kv: KVNamespace, name: string) {
	const page = await kv.list({ prefix: name });
	return page.keys.find((k) => k.name === name);
}
