// rtauthd starts itself again, once, with glibc's per-thread malloc cache off
// (server/malloc_tuning.h): its chunks are never trimmed and, after a wave of connections
// closes, keep the pages they sit on resident (issue 19, docs/performance.md). The restart
// keeps the process (same pid, the one that answers), adds the tunable to the operator's
// others, and leaves an operator's own tcache_count alone.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, describe } from 'node:test';

import { boundedIt } from './lib/realtime.mjs';
import { RTAUTHD, startServer } from './lib/server.mjs';

const it = boundedIt(30000);
const servers = [];
const sanitized = !!process.env.RTA_SANITIZED; // their allocator is not glibc's: no restart

after(async () => {
  for (const s of servers) await s.stop();
});

/** The GLIBC_TUNABLES the running process was started with (its exec's environment block:
 * glibc's parser may cut it at each ':' in place, so every part is read). */
function tunables(server) {
  const env = fs.readFileSync(`/proc/${server.proc.pid}/environ`, 'latin1').split('\0');
  const i = env.findIndex((e) => e.startsWith('GLIBC_TUNABLES='));
  if (i < 0) return [];
  const parts = [env[i].slice('GLIBC_TUNABLES='.length)];
  for (let j = i + 1; j < env.length && env[j].startsWith('glibc.'); j++) parts.push(env[j]);
  return parts.flatMap((p) => p.split(':'));
}

async function started(env) {
  const s = await startServer({ env });
  servers.push(s);
  // the process spawned is the one serving: the restart is an exec, not a child
  assert.equal(fs.realpathSync(`/proc/${s.proc.pid}/exe`), fs.realpathSync(RTAUTHD));
  // and keeps its name for ps, top and pgrep (an exec of /proc/self/exe would read "exe")
  assert.equal(fs.readFileSync(`/proc/${s.proc.pid}/comm`, 'utf8').trim(), 'rtauthd');
  return s;
}

describe('glibc malloc tuning at start', { skip: sanitized && 'sanitizer build' }, () => {
  it('runs with glibc.malloc.tcache_count=0, in the process that was started', async () => {
    const s = await started({ GLIBC_TUNABLES: '' });
    assert.deepEqual(tunables(s), ['glibc.malloc.tcache_count=0']);
  });

  it("keeps the operator's other tunables", async () => {
    const s = await started({ GLIBC_TUNABLES: 'glibc.malloc.mmap_threshold=1048576' });
    assert.deepEqual(tunables(s), ['glibc.malloc.mmap_threshold=1048576', 'glibc.malloc.tcache_count=0']);
  });

  it("leaves an operator's own tcache_count alone (no restart)", async () => {
    const s = await started({ GLIBC_TUNABLES: 'glibc.malloc.tcache_count=7' });
    assert.deepEqual(tunables(s), ['glibc.malloc.tcache_count=7']);
  });
});
