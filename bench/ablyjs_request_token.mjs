// ably-js 2.28.0's auth.requestToken() round trips against a running rtauthd, the node side of
// scripts/bench-sdk: with a key, ably-js signs a TokenRequest locally and POSTs it (JSON), like
// librtauth's rta_auth_request_token. CONCURRENCY calls are kept in flight for SECONDS.
// Usage: node bench/ablyjs_request_token.mjs HOST PORT KEY SECONDS CONCURRENCY
import Ably from 'ably';

const [host, port, key, seconds, conc] = process.argv.slice(2);
const rest = new Ably.Rest({ key, endpoint: host, port: Number(port), tls: false, logLevel: 0 });

const until = performance.now() + Number(seconds) * 1000;
let ok = 0;
let failed = 0;
let lastError = 0;
async function loop() {
  while (performance.now() < until) {
    try {
      await rest.auth.requestToken();
      ok++;
    } catch (e) {
      failed++;
      lastError = e.code;
    }
  }
}
const t0 = performance.now();
await Promise.all(Array.from({ length: Number(conc) }, loop));
const elapsed = (performance.now() - t0) / 1000;
console.log(`ablyjs_request_token_rps ${(ok / elapsed).toFixed(1)}`);
console.log(`ablyjs_request_token_failed ${failed}${failed ? ' last ' + lastError : ''}`);
