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
 * garbage sooner, which kept its peak RSS at 10,000 pods at about 107–130 MB
 * instead of 138–177 MB (the target is 150 MB). The price is a few percent
 * more CPU in a process that uses little (about 0.5 s per 1,000 pods).
 */
export const NODE_AGENT_V8_FLAGS: readonly string[] = [...SERVICE_V8_FLAGS, '--heap-growing-percent=25'];

/**
 * The pod-worker, the process a burst is bound by, keeps 8 MB semi-spaces:
 * fewer scavenges and less promoted garbage (two interleaved pairs of
 * 10,000-pod runs measured its burst CPU at 16.2–16.6 s instead of
 * 17.7–17.8 s). It also takes `--heap-growing-percent=25`: in two
 * interleaved pairs its peak RSS at 10,000 pods was 184–198 MB instead of
 * 252–263 MB, for about 3–10 % more of its own CPU (about 1 % of all the
 * CPU a burst takes on the machine, within the run-to-run spread).
 */
export const POD_WORKER_V8_FLAGS: readonly string[] = ['--max-semi-space-size=8', '--heap-growing-percent=25'];

/**
 * The V8 flags of one of our processes (bundle name, as in scripts/build.ts).
 * The services' `npm start` scripts and docker-compose.yml spell the same
 * flags out; a unit test holds them to this.
 */
export function serviceV8Flags(name: string): readonly string[] {
  if (name === 'node-agent') return NODE_AGENT_V8_FLAGS;
  if (name === 'pod-worker') return POD_WORKER_V8_FLAGS;
  return SERVICE_V8_FLAGS;
}
