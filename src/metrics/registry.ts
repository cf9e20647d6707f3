/**
 * A small Prometheus registry: counters and fixed-bucket histograms keyed by
 * name and labels, with delta snapshots so each isolate can ship what it
 * counted to one aggregating Durable Object (MetricsDO). Pure: no runtime
 * imports. Text format: Prometheus exposition format 0.0.4.
 */

export type Labels = Record<string, string>;

/** Latency buckets, seconds: 1 ms to 10 s. */
export const LATENCY_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10,
];

/** Replication lag buckets, seconds: finer where local and in-continent lag falls. */
export const LAG_BUCKETS = [
  0.002, 0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2, 5, 10, 30,
];

interface MetricInfo {
  type: 'counter' | 'histogram';
  help: string;
  /** Histogram bucket bounds; `LATENCY_BUCKETS` when absent. */
  buckets?: readonly number[];
}

function bucketsOf(name: string): readonly number[] {
  return METRICS[name]?.buckets ?? LATENCY_BUCKETS;
}

/** Every metric Strata exports, with its help text. */
export const METRICS: Record<string, MetricInfo> = {
  strata_http_requests_total: {
    type: 'counter',
    help: 'HTTP requests by route, method and status.',
  },
  strata_http_request_duration_seconds: {
    type: 'histogram',
    help: 'HTTP request latency by route.',
  },
  strata_cache_lookups_total: {
    type: 'counter',
    help: 'Cache lookups per tier and result (hit or miss).',
  },
  strata_tier_errors_total: {
    type: 'counter',
    help: 'Tier failures (timeouts, outages) per tier and operation.',
  },
  strata_cache_writes_total: {
    type: 'counter',
    help: 'Accepted writes and deletes, by operation.',
  },
  strata_purges_total: {
    type: 'counter',
    help: 'Purges accepted in this region, by source (api, webhook, proxy) and kind (soft true/false).',
  },
  strata_proxy_requests_total: {
    type: 'counter',
    help: 'Proxied requests by method and result (hit, stale-while-revalidate, revalidated, fetched, stale-if-error, method, pass, too-large, error).',
  },
  strata_proxy_invalidation_failures_total: {
    type: 'counter',
    help: 'Unsafe-method invalidations (RFC 9111 §4.4) that could not be submitted.',
  },
  strata_webhooks_total: {
    type: 'counter',
    help: 'Webhook deliveries by endpoint and result (ok, invalid-signature, expired, replay, invalid).',
  },
  strata_consistency_writes_total: {
    type: 'counter',
    help: 'Writes and deletes by consistency level and outcome (ok, quorum-not-reached, home-unreachable).',
  },
  strata_replication_received_total: {
    type: 'counter',
    help: 'Replicated events received, by origin region and result (applied, stale, duplicate).',
  },
  strata_replication_apply_lag_seconds: {
    type: 'histogram',
    help: 'Time from a write in its origin region (its HLC) to its application here, by origin.',
    buckets: LAG_BUCKETS,
  },
};

/** Serialisable state: counters as `key -> value`, histograms as `key -> [bucket counts..., sum, count]`. */
export interface Snapshot {
  counters: Record<string, number>;
  histograms: Record<string, number[]>;
}

function seriesKey(name: string, labels: Labels): string {
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${escapeLabel(labels[k] as string)}"`);
  return parts.length ? `${name}{${parts.join(',')}}` : name;
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

export class Registry {
  private counters = new Map<string, number>();
  private histograms = new Map<string, number[]>();

  inc(name: string, labels: Labels = {}, by = 1): void {
    const key = seriesKey(name, labels);
    this.counters.set(key, (this.counters.get(key) ?? 0) + by);
  }

  observe(name: string, labels: Labels, value: number): void {
    const key = seriesKey(name, labels);
    const bounds = bucketsOf(name);
    let h = this.histograms.get(key);
    if (!h) {
      h = new Array(bounds.length + 2).fill(0);
      this.histograms.set(key, h);
    }
    for (let i = 0; i < bounds.length; i++) if (value <= (bounds[i] as number)) (h[i] as number)++;
    h[bounds.length] = (h[bounds.length] as number) + value;
    h[bounds.length + 1] = (h[bounds.length + 1] as number) + 1;
  }

  isEmpty(): boolean {
    return this.counters.size === 0 && this.histograms.size === 0;
  }

  /** Returns everything counted since the last call and starts from zero. */
  drain(): Snapshot {
    const snap = {
      counters: Object.fromEntries(this.counters),
      histograms: Object.fromEntries(this.histograms),
    };
    this.counters = new Map();
    this.histograms = new Map();
    return snap;
  }

  /** Adds a snapshot (from any isolate) into this registry. */
  merge(snap: Snapshot): void {
    for (const [k, v] of Object.entries(snap.counters))
      this.counters.set(k, (this.counters.get(k) ?? 0) + v);
    for (const [k, v] of Object.entries(snap.histograms)) {
      const h = this.histograms.get(k);
      if (!h) this.histograms.set(k, [...v]);
      else for (let i = 0; i < v.length; i++) h[i] = (h[i] as number) + (v[i] as number);
    }
  }

  /** Prometheus text exposition. */
  render(): string {
    const lines: string[] = [];
    for (const [name, info] of Object.entries(METRICS)) {
      lines.push(`# HELP ${name} ${info.help}`, `# TYPE ${name} ${info.type}`);
      if (info.type === 'counter') {
        for (const [k, v] of [...this.counters].sort())
          if (k === name || k.startsWith(`${name}{`)) lines.push(`${k} ${v}`);
        continue;
      }
      const bounds = bucketsOf(name);
      for (const [k, h] of [...this.histograms].sort()) {
        if (!(k === name || k.startsWith(`${name}{`))) continue;
        const labels = k === name ? '' : k.slice(name.length + 1, -1);
        const join = (extra: string) => `{${labels ? `${labels},` : ''}${extra}}`;
        bounds.forEach((b, i) => {
          lines.push(`${name}_bucket${join(`le="${b}"`)} ${h[i]}`);
        });
        const count = h[bounds.length + 1];
        lines.push(`${name}_bucket${join('le="+Inf"')} ${count}`);
        lines.push(`${name}_sum${labels ? `{${labels}}` : ''} ${h[bounds.length]}`);
        lines.push(`${name}_count${labels ? `{${labels}}` : ''} ${count}`);
      }
    }
    return `${lines.join('\n')}\n`;
  }
}
