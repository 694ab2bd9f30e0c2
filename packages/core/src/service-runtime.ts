/**
 * The V8 flags our services run with, wherever they are started (container
 * command, dev stack, tests, benchmarks), so that what is measured is what
 * is shipped.
 *
 * `--max-semi-space-size=2` (MB): V8 grows the young generation up to
 * 32–64 MB under a high allocation rate, and that reservation shows in RSS.
 * Our services allocate at a high rate but keep little (watch events, HTTP
 * bodies); with 2 MB semi-spaces the node-agent's peak RSS at 10,000 pods
 * fell from 183 to 128 MB, a pod-worker's from 351 to 281 MB, at the same
 * CPU time and throughput (bench/README.md).
 */
export const SERVICE_V8_FLAGS: readonly string[] = ['--max-semi-space-size=2'];
