// The sign-in clients of login-load.mjs, in their own process so that the probe's timings are not
// delayed by the load generator's event loop. Usage: node login-load-clients.mjs <base> <email> <password> <clients>
import { call } from './lib.mjs';

const [base, email, password, clients] = process.argv.slice(2);
let running = true;
let logins = 0;
process.on('message', (message) => {
  if (message === 'stop') running = false;
});
await Promise.all(
  Array.from({ length: Number(clients) }, async () => {
    while (running) {
      await call(base, 'POST', '/api/v1/auth/login', { body: { email, password } });
      logins++;
    }
  }),
);
process.send({ logins }, () => process.disconnect());
