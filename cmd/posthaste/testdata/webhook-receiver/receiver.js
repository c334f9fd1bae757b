// Test-only webhook receiver: verifies every request with the npm `standardwebhooks` library
// (not Posthaste's signer). Usage: node receiver.js SECRET_FILE (read at each request, so the
// receiver can listen before the subscription and its secret exist).
// Prints {"port": N} once listening, then one JSON line per request:
// {"ok": true|false, "id": webhook-id, "type": payload type, "error": ...}.
// Answers 204 to a verified request and 400 to any other.
'use strict';
const http = require('http');
const { Webhook } = require('standardwebhooks');

const fs = require('fs');
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    try {
      const wh = new Webhook(fs.readFileSync(process.argv[2], 'utf8').trim());
      const payload = wh.verify(body, req.headers);
      console.log(JSON.stringify({ ok: true, id: req.headers['webhook-id'], type: payload.type }));
      res.writeHead(204);
      res.end();
    } catch (e) {
      console.log(JSON.stringify({ ok: false, id: req.headers['webhook-id'], error: String(e) }));
      res.writeHead(400);
      res.end('signature rejected');
    }
  });
});
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ port: server.address().port })));
