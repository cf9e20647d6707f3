/**
 * Worker entry point: the HTTP app and the Durable Object classes the
 * runtime must find exported from the main module.
 */
import { createApp } from './app.ts';

export { KeysDO } from '../durable-objects/keys.ts';
export { MetricsDO } from '../durable-objects/metrics.ts';
export { PurgeDO } from '../durable-objects/purge.ts';
export { ShardDO } from '../durable-objects/shard.ts';

export default createApp();
