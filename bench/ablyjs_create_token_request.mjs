// ably-js 2.28.0's auth.createTokenRequest, timed the same way as bench_token_request.c:
// ROUNDS rounds of N sequential calls, reporting the median per-call time in microseconds.
// Usage: node bench/ablyjs_create_token_request.mjs [N] [ROUNDS]
import Ably from 'ably';

const N = Number(process.argv[2] || 50000);
const ROUNDS = Number(process.argv[3] || 5);
const rest = new Ably.Rest({ key: 'appId.keyId:secretValue', endpoint: '127.0.0.1', port: 9, tls: false,
                             logLevel: 0 });
const params = { ttl: 3600000, capability: '{"chan2":["subscribe","publish"],"*":["*"]}',
                  clientId: 'alice' };

// Warm up the JIT before measuring.
for (let i = 0; i < 20000; i++) await rest.auth.createTokenRequest(params);

const perCall = [];
for (let r = 0; r < ROUNDS; r++) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) await rest.auth.createTokenRequest(params);
  perCall.push(Number(process.hrtime.bigint() - t0) / 1000 / N);
}
perCall.sort((a, b) => a - b);
const req = await rest.auth.createTokenRequest(params);
console.log(`ablyjs sample: ${JSON.stringify(req)}`);
console.log(`ablyjs_us ${perCall[Math.floor(ROUNDS / 2)].toFixed(4)}`);
