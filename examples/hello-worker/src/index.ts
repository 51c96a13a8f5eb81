/**
 * A minimal Worker, as create-cloudflare starts one.
 *
 * - Run `npm run dev` in your terminal to start a development server
 * - Run `npm run deploy` to publish your Worker
 */

export default {
	async fetch(request, env, ctx): Promise<Response> {
		return new Response('Hello World!');
	},
} satisfies ExportedHandler<Env>;
