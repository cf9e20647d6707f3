/**
 * Golden values on corda (every hit a near-immediate re-reference: LRU =
 * OPT) and on the ARC paper's OLTP trace at 1,000 entries (block expansion of
 * the `arc` format).
 */
import { registerGoldenRows } from './golden.ts';

registerGoldenRows({ corda: [512], oltp: [1000] });
