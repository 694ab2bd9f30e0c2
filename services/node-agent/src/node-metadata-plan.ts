/**
 * What a start of the node-agent changes on a Node that already exists.
 *
 * The Node is shared: users label it, taint it (`kubectl taint`), take our
 * taint off; other controllers add theirs (`node.kubernetes.io/not-ready`).
 * So a start changes only what our own settings ask for, and it takes back
 * only what an earlier start applied and the settings no longer ask for. What
 * was applied is recorded on the Node in an annotation (upstream
 * virtual-kubelet keeps a last-applied record the same way).
 *
 * - Labels: ours are enforced (the kubelet re-applies its default labels at
 *   every start); a label we applied before and no longer ask for is removed.
 * - Taints: `spec.taints` is a list without a merge key, so any patch of it
 *   replaces all of it; it is written whole, with the Node's
 *   resourceVersion as a precondition, and only when our taint changes: a
 *   taint of ours that the node lacks is added when the settings changed it
 *   (or nothing records that we applied it), not when a user removed it (the
 *   kubelet applies its taints at registration only). Every other taint stays.
 * - Resources: capacity keys we advertised before, no longer do, and the
 *   Node still shows are named in `staleResources`, for the status write to
 *   remove (a merge patch keeps map keys it does not name, so the scheduler
 *   would keep placing pods that request them); the record keeps them until
 *   they are gone from the Node.
 */

export const LAST_APPLIED_ANNOTATION = 'virtual-kubelet-ts.io/last-applied';

export interface NodeTaint {
  key: string;
  value?: string;
  effect: string;
}

/** What we apply to the Node: recorded as JSON in LAST_APPLIED_ANNOTATION. */
export interface AppliedNodeMeta {
  labels: Record<string, string>;
  taints: NodeTaint[];
  /** Capacity keys (cpu, memory, nvidia.com/gpu, …). */
  resources: string[];
}

export interface CurrentNodeMeta {
  resourceVersion: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  taints?: NodeTaint[];
  /** The keys of the Node's status.capacity. */
  capacity?: string[];
}

export interface NodeMetadataPlan {
  /** A strategic merge patch for the Node, or undefined when it already is as it should be. */
  patch: { metadata: Record<string, unknown>; spec?: { taints: NodeTaint[] } } | undefined;
  staleResources: string[];
}

export function planNodeMetadata(current: CurrentNodeMeta, desired: AppliedNodeMeta): NodeMetadataPlan {
  const previous = readApplied(current.annotations?.[LAST_APPLIED_ANNOTATION]);
  const have = current.labels ?? {};

  const labels: Record<string, string | null> = {};
  for (const [key, value] of Object.entries(desired.labels)) if (have[key] !== value) labels[key] = value;
  for (const key of Object.keys(previous?.labels ?? {})) if (!(key in desired.labels) && key in have) labels[key] = null;

  const taints = current.taints ?? [];
  // Ours as last applied and no longer asked for: taken off (only if still exactly as we set it).
  const retired = (previous?.taints ?? []).filter((p) => !desired.taints.some((d) => sameTaint(d, p)));
  // Ours to put on: new or changed since the last start; with no record, any the node lacks.
  const added = desired.taints.filter((d) => previous
    ? !previous.taints.some((p) => sameTaint(p, d))
    : !taints.some((t) => sameTaint(t, d)));
  const nextTaints = [
    ...taints.filter((t) => !retired.some((r) => sameTaint(r, t)) && !added.some((a) => sameSlot(a, t))),
    ...added.map(({ key, value, effect }) => (value ? { key, value, effect } : { key, effect })),
  ];
  const taintsChanged = nextTaints.length !== taints.length || nextTaints.some((t, i) => !sameTaint(t, taints[i]!));

  // Stale: applied before, no longer desired, and still on the Node. They stay in the record until a status
  // write removed them, so that a start between this one and that write still knows to remove them.
  const staleResources = (previous?.resources ?? []).filter((r) => !desired.resources.includes(r) && (current.capacity?.includes(r) ?? true));
  const record = JSON.stringify({ ...desired, resources: [...desired.resources, ...staleResources] });
  const metadata: Record<string, unknown> = {};
  if (Object.keys(labels).length > 0) metadata.labels = labels;
  if (current.annotations?.[LAST_APPLIED_ANNOTATION] !== record) metadata.annotations = { [LAST_APPLIED_ANNOTATION]: record };
  if (taintsChanged) metadata.resourceVersion = current.resourceVersion;
  if (Object.keys(metadata).length === 0) return { patch: undefined, staleResources };
  return { patch: taintsChanged ? { metadata, spec: { taints: nextTaints } } : { metadata }, staleResources };
}

/** The record an earlier start left, or undefined when there is none or it cannot be read (then nothing is taken back). */
function readApplied(text: string | undefined): AppliedNodeMeta | undefined {
  if (!text) return undefined;
  try {
    const value = JSON.parse(text) as Partial<AppliedNodeMeta>;
    const labels = value.labels && typeof value.labels === 'object' ? value.labels : {};
    const taints = Array.isArray(value.taints) ? value.taints.filter((t) => t && typeof t.key === 'string' && typeof t.effect === 'string') : [];
    const resources = Array.isArray(value.resources) ? value.resources.filter((r) => typeof r === 'string') : [];
    return { labels, taints, resources };
  } catch {
    return undefined;
  }
}

/** Kubernetes allows one taint per key and effect. */
function sameSlot(a: NodeTaint, b: NodeTaint): boolean {
  return a.key === b.key && a.effect === b.effect;
}

function sameTaint(a: NodeTaint, b: NodeTaint): boolean {
  return sameSlot(a, b) && (a.value ?? '') === (b.value ?? '');
}
