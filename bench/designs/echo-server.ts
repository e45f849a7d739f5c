/** A bare Bun echo WebSocket server on PORT, or on the Unix socket UNIX: the upstream of the design comparison. */
const where = process.env.UNIX ? { unix: process.env.UNIX } : { port: Number(process.env.PORT), hostname: "127.0.0.1" };
Bun.serve({
  ...where,
  fetch: (request, server) => (server.upgrade(request) ? undefined : new Response("ok\n")),
  websocket: {
    message(ws, message) {
      if (typeof message !== "string") ws.send(message);
    },
  },
});
