// A real SMTP listener on loopback for the end-to-end suite: the server under test delivers its
// mail here (LEADCARD_SMTP_URL), and each accepted message is written as JSON
// `{from, to, data, at}` to a file in the mail directory, which the specs read (maildir.ts).
// Usage: node smtp-sink.mjs PORT MAILDIR
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';

const [port, dir] = [Number(process.argv[2]), process.argv[3]];
if (!port || !dir) {
  console.error('usage: node smtp-sink.mjs PORT MAILDIR');
  process.exit(2);
}
fs.mkdirSync(dir, { recursive: true });
let count = 0;

const server = net.createServer((socket) => {
  socket.setEncoding('utf8');
  let buffer = '';
  let envelope = { from: null, to: [] };
  let data = null; // collecting DATA lines when not null
  const reply = (line) => socket.write(line + '\r\n');
  reply('220 leadcard-e2e-sink ESMTP');

  socket.on('data', (chunk) => {
    buffer += chunk;
    let at;
    while ((at = buffer.indexOf('\r\n')) >= 0) {
      const line = buffer.slice(0, at);
      buffer = buffer.slice(at + 2);
      if (data !== null) {
        if (line === '.') {
          const file = path.join(dir, `${Date.now()}-${process.pid}-${++count}.json`);
          const mail = { from: envelope.from, to: envelope.to, data: data.join('\r\n'), at: new Date().toISOString() };
          fs.writeFileSync(file + '.tmp', JSON.stringify(mail));
          fs.renameSync(file + '.tmp', file);
          data = null;
          envelope = { from: null, to: [] };
          reply('250 2.0.0 queued');
        } else {
          data.push(line.startsWith('..') ? line.slice(1) : line);
        }
        continue;
      }
      const verb = line.slice(0, 4).toUpperCase();
      if (verb === 'EHLO') reply('250-leadcard-e2e-sink\r\n250-8BITMIME\r\n250 SMTPUTF8');
      else if (verb === 'HELO') reply('250 leadcard-e2e-sink');
      else if (verb === 'MAIL') {
        envelope.from = (line.match(/<([^>]*)>/) || [])[1] ?? null;
        reply('250 2.1.0 ok');
      } else if (verb === 'RCPT') {
        envelope.to.push((line.match(/<([^>]*)>/) || [])[1] ?? '');
        reply('250 2.1.5 ok');
      } else if (verb === 'DATA') {
        data = [];
        reply('354 end with <CRLF>.<CRLF>');
      } else if (verb === 'RSET') {
        envelope = { from: null, to: [] };
        reply('250 2.0.0 ok');
      } else if (verb === 'NOOP') reply('250 2.0.0 ok');
      else if (verb === 'QUIT') {
        reply('221 2.0.0 bye');
        socket.end();
      } else reply('502 5.5.2 not implemented');
    }
  });
  socket.on('error', () => {});
});

server.listen(port, '127.0.0.1', () => console.log(`smtp sink on 127.0.0.1:${port}, mail in ${dir}`));
