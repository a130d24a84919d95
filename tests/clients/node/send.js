// Drives the official @amplitude/analytics-node SDK against a serverUrl and
// prints what the SDK itself reported for every event, as one JSON line.
//   node send.js SERVER_URL SCENARIO
// Scenarios: basic (track, identify, revenue, explicit flush), retry (six
// events left to the SDK's own timer flush, which is the path that retries),
// disk (twenty events in flushes of four, retried by the SDK on 503).
const amplitude = require('@amplitude/analytics-node');

const [serverUrl, scenario] = process.argv.slice(2);
const API_KEY = 'FAKE_API_KEY_NODE_0123456789';
const USER = { user_id: 'user-node-1', device_id: 'device-node-1' };

async function main() {
  const client = amplitude.createInstance();
  await client.init(API_KEY, {
    serverUrl,
    flushIntervalMillis: 200,
    flushQueueSize: { retry: 6, disk: 4 }[scenario] || 200,
    logLevel: amplitude.Types.LogLevel.None,
  }).promise;
  const pending = [];
  if (scenario === 'basic') {
    pending.push(client.track('Button Clicked', { color: 'blue', count: 3, nested: { a: [1, null] } }, USER).promise);
    pending.push(client.track('Page Viewed', { page: '/home', referrer: null }, USER).promise);
    pending.push(client.track('Item Added', { sku: 'SKU-1', price: 9.99 }, USER).promise);
    const identify = new amplitude.Identify().set('plan', 'premium').setOnce('signup', '2024-01-01').add('logins', 1);
    pending.push(client.identify(identify, USER).promise);
    const revenue = new amplitude.Revenue().setProductId('prod-42').setPrice(19.99).setQuantity(3).setRevenueType('purchase');
    pending.push(client.revenue(revenue, USER).promise);
    await client.flush().promise;
  } else if (scenario === 'retry') {
    for (let i = 0; i < 6; i++) {
      pending.push(client.track(`Retry Event ${i}`, { i }, USER).promise);
    }
  } else if (scenario === 'disk') {
    for (let i = 0; i < 20; i++) {
      pending.push(client.track(`Disk Event ${i}`, { i, pad: 'x'.repeat(1000) }, USER).promise);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  } else {
    throw new Error(`unknown scenario ${scenario}`);
  }
  const results = await Promise.all(pending);
  console.log(JSON.stringify({
    results: results.map((r) => ({ event_type: r.event.event_type, insert_id: r.event.insert_id, code: r.code, message: r.message })),
  }));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
