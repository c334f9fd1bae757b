// Test-only driver of Posthaste's Postal v1 API through the unchanged npm client
// @atech/postal (HTTPS on port 443). Prints one JSON line; exits 1 on a rejected promise.
//   node client.js send HOST KEY FROM TO...       send/message with cc, bcc, attachment, header
//   node client.js raw HOST KEY FROM TO           send/raw
//   node client.js message HOST KEY ID            messages/message with every expansion
//   node client.js deliveries HOST KEY ID         messages/deliveries
var Postal = require('@atech/postal');

var args = process.argv.slice(2);
var mode = args[0], client = new Postal.Client(args[1], args[2]);

function done(p) {
  p.then(function (v) { console.log(JSON.stringify(v)); })
    .catch(function (e) { console.log(JSON.stringify({ rejected: e })); process.exit(1); });
}

if (mode === 'send') {
  var m = new Postal.SendMessage(client);
  args.slice(4).forEach(function (to) { m.to(to); });
  m.cc('copy@remote.test');
  m.bcc('hidden@remote.test');
  m.from(args[3]);
  m.subject('Hello from @atech/postal');
  m.tag('npm');
  m.plainBody('Plain text from the Postal client.');
  m.htmlBody('<p>HTML from the Postal client.</p>');
  m.header('X-Client-Test', 'yes');
  m.attach('note.txt', 'text/plain', 'attached text');
  done(m.send().then(function (r) {
    var out = { message_id: r.result.message_id, recipients: {} };
    var rs = r.recipients();
    for (var k in rs) { out.recipients[k] = { id: rs[k].id(), token: rs[k].token() }; }
    return out;
  }));
} else if (mode === 'raw') {
  var raw = new Postal.SendRawMessage(client);
  raw.mailFrom(args[3]);
  raw.rcptTo(args[4]);
  raw.data('From: ' + args[3] + '\r\nTo: ' + args[4] + '\r\nSubject: raw via npm\r\n\r\nRaw body.\r\n');
  done(raw.send().then(function (r) { return r.result; }));
} else if (mode === 'message') {
  done(client.makeRequest('messages', 'message', { id: Number(args[3]), _expansions: true }));
} else if (mode === 'deliveries') {
  done(client.makeRequest('messages', 'deliveries', { id: Number(args[3]) }));
} else {
  console.error('unknown mode ' + mode);
  process.exit(2);
}
