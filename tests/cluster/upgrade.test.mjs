// Rolling upgrades and the Functions library (issue 14; store/redis_functions.h). Redis's
// function names are global, not per library, so every version names its library AND its
// functions with its version (rtauthd_v2: rt_ch_publish_v2, ...). Nodes of two versions then
// share one Redis during a rolling upgrade, each calling its own functions:
// - a library of the previous release (rtauthd_v1, whose functions had no suffix) stays
//   loaded and callable while nodes of this version load theirs and serve;
// - a later version's library (rtauthd_v3) loaded beside it does not disturb this version's
//   nodes, also after they reconnect (a Redis restart reloads every node's library).
// Before the versioned names, a node could not start at all while another library held one
// of its function names ("Function rt_ch_publish already exists").
import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';

import { FORMATS, randomId, restClient } from '../interop/lib/helpers.mjs';
import { boundedIt } from '../interop/lib/realtime.mjs';
import { provisionApp } from '../interop/lib/server.mjs';
import { Node, RedisServer, waitForKey } from './lib/cluster.mjs';

const it = boundedIt(60000);

/** A library as an older or newer release would load it: `fns` answer `answer`. */
function library(name, fns, answer) {
  return [`#!lua name=${name}`, ...fns.map((f) => `redis.register_function('${f}', function(keys, args) return '${answer}' end)`)]
    .join('\n');
}

// the names rtauthd_v1 registered (the first cluster release)
const V1_FUNCTIONS = ['rt_ctl_append', 'rt_rev_apply', 'rt_rev_purge', 'rt_epoch', 'rt_app_create', 'rt_app_delete',
  'rt_key_add', 'rt_app_limits', 'rt_key_enable', 'rt_secret_add', 'rt_ch_publish'];

let redis;
let nodes = [];

before(async () => {
  redis = await RedisServer.start();
  // an older node's library is already there, as during a rolling upgrade
  await redis.cmd('FUNCTION', 'LOAD', library('rtauthd_v1', V1_FUNCTIONS, 'v1'));
});

after(async () => {
  for (const n of nodes) await n.stop();
  await redis?.stop();
});

async function publishAndRead(node, keyStr, binary) {
  const rest = restClient(node, { key: keyStr }, binary);
  const ch = rest.channels.get(randomId('up'));
  await ch.publish('m', 'one');
  await ch.publish('m', 'two');
  const page = await ch.history({ direction: 'forwards' });
  return page.items.map((m) => m.data);
}

describe('Functions library versions side by side (rolling upgrade)', () => {
  it('nodes of this version start and serve beside the previous release\'s library, which stays callable', async () => {
    nodes.push(await Node.start({ redis: redis.url, nodeId: 'n1' }));
    nodes.push(await Node.start({ redis: redis.url, nodeId: 'n2' }));
    const app = await provisionApp(nodes[0]); // rt_app_create_v2
    await waitForKey(nodes, app.keys[0].keyStr);
    for (const { binary } of FORMATS) assert.deepEqual(await publishAndRead(nodes[1], app.keys[0].keyStr, binary), ['one', 'two']);

    const libs = await redis.cmd('FUNCTION', 'LIST');
    assert.match(libs, /rtauthd_v1/);
    assert.match(libs, /rtauthd_v2/);
    assert.match(libs, /rt_ch_publish_v2/);
    // an old node's call still reaches the old function
    assert.equal(await redis.cmd('FCALL', 'rt_ch_publish', '0'), 'v1');
  });

  it('a later version\'s library loaded beside it leaves this version\'s nodes working, also after they reconnect', async () => {
    await redis.cmd('FUNCTION', 'LOAD', library('rtauthd_v3', V1_FUNCTIONS.map((f) => `${f}_v3`), 'v3'));
    await redis.restart(); // every node reconnects and loads its library again (REPLACE)
    for (const n of nodes) await n.waitReady(20000);
    const app = await provisionApp(nodes[1]);
    await waitForKey(nodes, app.keys[0].keyStr);
    assert.deepEqual(await publishAndRead(nodes[0], app.keys[0].keyStr, true), ['one', 'two']);
    assert.equal(await redis.cmd('FCALL', 'rt_ch_publish_v3', '0'), 'v3', 'the later version untouched');
    assert.equal(await redis.cmd('FCALL', 'rt_ch_publish', '0'), 'v1', 'the older version untouched');
  });
});
