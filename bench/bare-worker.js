// The baseline for bench/inbox.mjs: a Worker that reads the POST body and answers 202, nothing else.
export default {
  async fetch(request) {
    await request.arrayBuffer();
    return new Response(null, { status: 202 });
  },
};
