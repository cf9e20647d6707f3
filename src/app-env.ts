/** Hono's type parameters for the Strata app: bindings and per-request variables. */
import type { Principal } from './auth/principal.ts';
import type { Env } from './env.ts';

export interface AppEnv {
  Bindings: Env;
  Variables: {
    /** Set by the auth middleware on every authenticated route. */
    principal: Principal;
    /** Route pattern label for metrics, e.g. `/v1/cache/:namespace/:key`. */
    route: string;
  };
}
