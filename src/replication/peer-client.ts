/**
 * Calls a peer region's `/internal/*` routes: JSON in, JSON out, signed for
 * that peer and purpose, with a deadline. Any failure (network, timeout,
 * non-2xx) is a `PeerError` carrying a short reason for `/v1/stats`.
 */
import type { Signer } from './signing.ts';

export class PeerError extends Error {
  constructor(
    readonly peer: string,
    readonly reason: string,
    readonly status?: number,
  ) {
    super(`peer ${peer}: ${reason}`);
    this.name = 'PeerError';
  }
}

export interface PeerTarget {
  region: string;
  url: string;
}

/** The internal routes and what they answer. */
export type InternalPurpose = 'replicate' | 'digest' | 'versions' | 'strong' | 'purge';

export async function callPeer<T>(
  signer: Signer,
  peer: PeerTarget,
  purpose: InternalPurpose,
  payload: unknown,
  timeoutMs: number,
): Promise<T> {
  const body = JSON.stringify(payload);
  const authorization = await signer.sign(peer.region, purpose, body);
  let res: Response;
  try {
    res = await fetch(`${peer.url}/internal/${purpose}`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    const e = err as Error;
    throw new PeerError(
      peer.region,
      e.name === 'TimeoutError' ? `timed out after ${timeoutMs} ms` : `unreachable (${e.message})`,
    );
  }
  const text = await res.text().catch(() => '');
  if (!res.ok) {
    let detail = text.slice(0, 200);
    try {
      detail = (JSON.parse(text) as { detail?: string }).detail ?? detail;
    } catch {
      // not problem+json: keep the text
    }
    throw new PeerError(peer.region, `HTTP ${res.status}: ${detail}`, res.status);
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new PeerError(peer.region, 'answered with invalid JSON', res.status);
  }
}
