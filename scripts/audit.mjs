// Runs graphql-http's server audits (GraphQL over HTTP spec conformance) against a running
// server and prints one line per audit. Exit code 1 when a MUST audit fails. `cargo xtask audit`
// installs the pinned packages, starts a server with a token and runs this.
//
//   node audit.mjs http://127.0.0.1:8080/graphql
//
// graphql-http reports a failed MUST audit as "error" and a failed SHOULD/MAY audit as "warn".
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs URL');
  process.exit(2);
}

// Wait for the server to answer (it rebuilds its read models before it listens).
const health = new URL('/health', url);
for (let attempt = 0; ; attempt++) {
  try {
    if ((await fetch(health)).ok) break;
  } catch {
    // not up yet
  }
  if (attempt >= 300) {
    console.error(`the server at ${health} did not come up`);
    process.exit(2);
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
}

// Every request signs in: the token comes from JEUGDPAD_TOKEN (`cargo xtask audit` creates one).
const token = process.env.JEUGDPAD_TOKEN;
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers || {});
  if (token) headers.set('authorization', `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};

const results = [];
for (const audit of serverAudits({ url, fetchFn })) {
  results.push(await audit.fn());
}
const label = { ok: 'PASS', warn: 'WARN', error: 'FAIL' };
for (const result of results) {
  const line = `${label[result.status]} ${result.id} ${result.name}`;
  console.log(result.status === 'ok' ? line : `${line}\n       ${result.reason}`);
}
const count = (status) => results.filter((r) => r.status === status).length;
console.log(
  `\n${count('ok')} passed, ${count('error')} failed (MUST), ${count('warn')} warnings (SHOULD/MAY)`,
);
process.exit(count('error') > 0 ? 1 : 0);
