/**
 * The multi-region harness itself: three `wrangler dev` regions on the shared
 * L3, each behind a fault proxy; a region killed with SIGKILL comes back on the
 * same port with its persisted state. (No replication is asserted here.)
 */
import { afterAll, beforeAll, describe, expect, inject, it, onTestFailed } from 'vitest';
import { type Cluster, startCluster } from '../../scripts/lib/cluster.ts';

let cluster: Cluster | undefined;

function started(): Cluster {
  if (!cluster) throw new Error('the cluster did not start');
  const c = cluster;
  onTestFailed(() => console.error(c.output()));
  return c;
}

beforeAll(async () => {
  cluster = await startCluster({ l3Url: inject('l3Url'), l3Token: inject('l3Token') });
}, 180_000);

afterAll(async () => {
  await cluster?.stop();
}, 60_000);

describe('cluster harness', () => {
  it('starts three regions that each answer /healthz 200 with their own name', async () => {
    const c = started();
    expect(c.regions.map((r) => r.name)).toEqual(['us-east', 'eu-west', 'ap-southeast']);
    for (const region of c.regions) {
      const res = await fetch(`${region.url}/healthz`, {
        headers: { authorization: `Bearer ${c.adminKey}` },
      });
      expect(res.status).toBe(200);
      const body = (await res.json()) as { status: string; region: string };
      expect(body.region).toBe(region.name);
      expect(body.status).toBe('ok');
    }
  });

  it('the fault proxy forwards while up and refuses while partitioned', async () => {
    const c = started();
    const name = 'ap-southeast';
    const healthz = () =>
      fetch(`${c.proxyUrl(name)}/healthz`, {
        headers: { authorization: `Bearer ${c.adminKey}` },
      });
    const before = c.proxyRequests(name);
    expect((await healthz()).status).toBe(200);
    expect(c.proxyRequests(name)).toBe(before + 1);

    c.partition(name, true);
    await expect(healthz()).rejects.toThrow();
    expect(c.proxyRequests(name)).toBe(before + 1);
    // The region itself is still up for the test.
    const direct = await fetch(`${c.url(name)}/healthz`, {
      headers: { authorization: `Bearer ${c.adminKey}` },
    });
    expect(direct.status).toBe(200);

    c.partition(name, false);
    expect((await healthz()).status).toBe(200);
  });

  it('a region killed with SIGKILL restarts healthy on the same port with its data', async () => {
    const c = started();
    const name = 'eu-west';
    const url = c.url(name);
    const key = `persisted-${Date.now()}`;
    const auth = { authorization: `Bearer ${c.adminKey}` };

    const put = await fetch(`${url}/v1/cache/smoke/${key}`, {
      method: 'PUT',
      headers: { ...auth, 'cache-control': 'max-age=600', 'content-type': 'text/plain' },
      body: 'survives kill -9',
    });
    expect(put.status).toBeLessThan(300);

    const pid = c.process(name).pid;
    await c.kill9(name);
    await expect(fetch(`${url}/healthz`, { headers: auth })).rejects.toThrow();

    await c.restart(name);
    expect(c.url(name)).toBe(url);
    expect(c.process(name).pid).not.toBe(pid);

    const get = await fetch(`${url}/v1/cache/smoke/${key}`, { headers: auth });
    expect(get.status).toBe(200);
    expect(await get.text()).toBe('survives kill -9');
  });
});
