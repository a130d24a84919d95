// A test as a CI job runs it: the app's instrumentation (here the official
// Node SDK itself) sends events through amptap, and the test asserts on
// what was sent through amptap's query API — waiting for events, never
// sleeping. Run with AMPTAP_URL pointing at `amptap serve`.
const amplitude = require('@amplitude/analytics-node');

const AMPTAP = process.env.AMPTAP_URL || 'http://127.0.0.1:8787';

async function main() {
  // Everything from here on carries this tag: one capture can hold many tests.
  await fetch(`${AMPTAP}/_amptap/tag`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ tag: 'checkout-test' }),
  });

  const client = amplitude.createInstance();
  await client.init('CI_API_KEY_0123456789', { serverUrl: `${AMPTAP}/2/httpapi`, logLevel: amplitude.Types.LogLevel.None }).promise;
  const user = { user_id: 'user-ci-0001', device_id: 'device-ci-0001' };
  client.track('dify_user_query', { query_text: 'Where is my order?', app_id: 'app-42', conversation_id: 'conv-ci', uid: 'user-ci-0001', createTime: Date.now() }, user);
  client.track('dify_response_liked', { response_id: 'msg-ci-1', rating: 5, app_id: 'app-42' }, user);
  await client.flush().promise;

  const q = encodeURIComponent('tag:checkout-test type:dify_.*');
  const res = await fetch(`${AMPTAP}/_amptap/wait?q=${q}&count=2&timeout=5s`);
  const body = await res.json();
  if (res.status !== 200) throw new Error(`expected 2 events, got ${body.count}: ${body.error}`);
  const bad = body.events.filter((e) => e.verdict === 'error');
  if (bad.length > 0) throw new Error(`instrumentation errors: ${JSON.stringify(bad.map((e) => e.findings))}`);
  console.log(`ok: ${body.count} events arrived and match the plan`);
  // The SDK keeps a flush timer alive; the test is done.
  process.exit(0);
}

main().catch((e) => {
  console.error(e.message || e);
  process.exit(1);
});
