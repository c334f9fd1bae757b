// usage: node send.js HOST PORT USER PASS FROM TO
// Submits one message with nodemailer over STARTTLS (self-signed certificate accepted) and AUTH,
// and prints the server's final response ("250 2.0.0 Ok: queued as …").
const nodemailer = require("nodemailer");
const [host, port, user, pass, from, to] = process.argv.slice(2);
const transport = nodemailer.createTransport({
  host, port: Number(port), secure: false, requireTLS: true,
  auth: { user, pass }, tls: { rejectUnauthorized: false },
});
transport.sendMail({ from, to, subject: "from nodemailer", text: "Hello from nodemailer.\n" })
  .then((info) => { console.log(info.response); })
  .catch((err) => { console.error(err.message); process.exit(1); });
