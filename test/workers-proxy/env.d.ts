/** `env` from `cloudflare:test` carries the Worker's bindings. */
import type { Env as StrataEnv } from '../../src/env.ts';

declare global {
  namespace Cloudflare {
    interface Env extends StrataEnv {}
  }
}
