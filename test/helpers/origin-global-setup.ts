/**
 * Vitest globalSetup: the scriptable origin (scripts/lib/scripted-origin.ts)
 * on 127.0.0.1 and a free port, for proxy mode's tests. Tests read its URL
 * with `inject('originUrl')` (the Worker has it as ORIGIN_URL) and drive it
 * through its `/__origin/*` control endpoints; it stops on teardown.
 */
import type { TestProject } from 'vitest/node';
import { startScriptedOrigin } from '../../scripts/lib/scripted-origin.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `http://127.0.0.1:<port>` of the scriptable origin. */
    originUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const origin = await startScriptedOrigin(0);
  project.provide('originUrl', origin.url);
  return () => origin.stop();
}
