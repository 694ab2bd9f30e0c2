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

/**
 * The node-agent also runs with `--heap-growing-percent=25`: V8 collects old
 * garbage sooner, which kept its peak RSS at 10,000 pods at about 107–116 MB
 * instead of 138–177 MB (the target is 150 MB). The price is a few percent
 * more CPU in a process that uses little (about 0.5 s per 1,000 pods). The
 * pod-worker does not take it: there it measured about 8 % more CPU in the
 * process that bursts are bound by.
 */
export const NODE_AGENT_V8_FLAGS: readonly string[] = [...SERVICE_V8_FLAGS, '--heap-growing-percent=25'];

/** The V8 flags of one of our processes (bundle name, as in scripts/build.ts). */
export function serviceV8Flags(name: string): readonly string[] {
  return name === 'node-agent' ? NODE_AGENT_V8_FLAGS : SERVICE_V8_FLAGS;
}
