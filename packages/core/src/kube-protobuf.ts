import type { Readable } from 'node:stream';
import protobuf from 'protobufjs/minimal.js';
import type { KubeStatus } from './kube-rest-client.ts';

/**
 * Just enough of Kubernetes' protobuf encoding to read a watch for its
 * objects' metadata.
 *
 * Why a watcher that only reads metadata asks for whole objects as protobuf:
 * the API server encodes each watch event once per encoding and shares it
 * among that encoding's watchers (the watch cache's cachingObject), and the
 * scheduler and controller manager already watch pods as protobuf. A
 * protobuf watch of whole pods therefore costs the API server no encoding of
 * its own, where a metadata-only watch (`as=PartialObjectMetadata`) is
 * transformed and encoded for its watchers alone, on every event. On the
 * client, only ObjectMeta is decoded; spec and status are skipped by length.
 *
 * The wire format (k8s.io/apimachinery, runtime/serializer/protobuf and
 * pkg/apis/meta/v1/generated.proto):
 * - a watch stream (`application/vnd.kubernetes.protobuf;stream=watch`) is a
 *   sequence of frames, each a 4-byte big-endian length and a `WatchEvent`
 *   message: `type` = 1 (string), `object` = 2 (`RawExtension`, whose `raw` = 1
 *   holds the object);
 * - an object (and a non-watch answer's body) is the 4 bytes `k8s\0` and a
 *   `runtime.Unknown`: `typeMeta` = 1 (`apiVersion` = 1, `kind` = 2), `raw` = 2
 *   (the object's own message), `contentEncoding` = 3, `contentType` = 4;
 * - every top-level object has its `ObjectMeta` at field 1.
 *
 * protobufjs's Reader does the wire format (varints, lengths, skipping); the
 * messages are walked by hand for the few fields read, rather than loading
 * Kubernetes' generated .proto files (hundreds of messages for a dozen fields).
 */

export const PROTOBUF = 'application/vnd.kubernetes.protobuf';

/** The magic number in front of every protobuf-encoded Kubernetes object. */
const MAGIC = Buffer.from('k8s\u0000', 'latin1');

/** A frame longer than this is refused (a pod is a few KB; the API server's own limit on a request is 3 MB). */
const MAX_FRAME_BYTES = 64 * 1024 * 1024;

/** ObjectMeta as this decoder returns it: the JSON field names and forms (timestamps as RFC 3339 strings). */
export interface DecodedObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
}

export interface DecodedWatchEvent {
  type: string;
  /** The object's kind, from its envelope (`Status` for an ERROR event). */
  kind: string;
  /** The object's own message (a Pod, a Status, ...). */
  raw: Uint8Array;
}

/** Decodes one watch frame (without its length prefix). Throws on anything malformed. */
export function decodeWatchEvent(frame: Uint8Array): DecodedWatchEvent {
  const r = protobuf.Reader.create(frame);
  let type = '';
  let object: Uint8Array | undefined;
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag === (1 << 3 | 2)) type = r.string();
    else if (tag === (2 << 3 | 2)) object = rawExtension(r.bytes());
    else r.skipType(tag & 7);
  }
  if (!object) throw new Error(`protobuf watch event ${type || '(no type)'} carries no object`);
  return { type, ...decodeEnvelope(object) };
}

/** An object as the API server encodes it (magic number and runtime.Unknown): its kind and its own message. */
export function decodeEnvelope(data: Uint8Array): { kind: string; raw: Uint8Array } {
  if (data.length < MAGIC.length || !MAGIC.equals(data.subarray(0, MAGIC.length))) {
    throw new Error('not a Kubernetes protobuf object (no k8s\\0 prefix)');
  }
  const r = protobuf.Reader.create(data.subarray(MAGIC.length));
  let kind = '';
  let raw: Uint8Array = new Uint8Array(0);
  let contentEncoding = '';
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag === (1 << 3 | 2)) kind = typeMetaKind(r.bytes());
    else if (tag === (2 << 3 | 2)) raw = r.bytes();
    else if (tag === (3 << 3 | 2)) contentEncoding = r.string();
    else r.skipType(tag & 7);
  }
  if (contentEncoding) throw new Error(`protobuf object of kind ${kind} has content encoding ${contentEncoding}, which is not supported`);
  return { kind, raw };
}

/** The `metadata` (field 1) of any top-level object, in JSON form; spec, status and the rest are skipped unread. */
export function decodeObjectMetadata(raw: Uint8Array): { metadata: DecodedObjectMeta } {
  const r = protobuf.Reader.create(raw);
  let metadata: DecodedObjectMeta = {};
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag === (1 << 3 | 2)) metadata = objectMeta(r.bytes());
    else r.skipType(tag & 7);
  }
  return { metadata };
}

/** A `meta.k8s.io/v1` Status (an ERROR event's object, or an error answer's body). */
export function decodeStatus(raw: Uint8Array): KubeStatus {
  const r = protobuf.Reader.create(raw);
  const status: KubeStatus = { kind: 'Status' };
  while (r.pos < r.len) {
    const tag = r.uint32();
    switch (tag) {
      case 2 << 3 | 2: status.status = r.string(); break;
      case 3 << 3 | 2: status.message = r.string(); break;
      case 4 << 3 | 2: status.reason = r.string(); break;
      case 6 << 3 | 0: status.code = r.int32(); break;
      default: r.skipType(tag & 7);
    }
  }
  return status;
}

/**
 * Calls onFrame with each length-prefixed frame of a stream; resolves when
 * the stream ends, rejects with the stream's error, the first error onFrame
 * throws, or a frame cut short by the end of the stream (the stream is then
 * destroyed).
 */
export function readFrames(stream: Readable, onFrame: (frame: Buffer) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    let buffered: Buffer = Buffer.alloc(0);
    let done = false;
    const finish = (err?: unknown): void => {
      if (done) return;
      done = true;
      if (err === undefined) resolve();
      else {
        stream.destroy();
        reject(err);
      }
    };
    stream.on('data', (chunk: Buffer) => {
      let data = buffered.length > 0 ? Buffer.concat([buffered, chunk]) : chunk;
      let start = 0;
      while (!done && data.length - start >= 4) {
        const length = data.readUInt32BE(start);
        if (length > MAX_FRAME_BYTES) return finish(new Error(`protobuf watch frame of ${length} bytes is over the ${MAX_FRAME_BYTES}-byte limit`));
        if (data.length - start - 4 < length) break;
        const frame = data.subarray(start + 4, start + 4 + length);
        start += 4 + length;
        try {
          onFrame(frame);
        } catch (err) {
          return finish(err);
        }
      }
      // Keep only the unread tail; copied when it is a small part of a large chunk, so the chunk can be freed.
      data = data.subarray(start);
      buffered = data.length > 0 && data.length < chunk.length / 4 ? Buffer.from(data) : data;
    });
    stream.on('end', () => {
      if (buffered.length > 0) return finish(new Error(`protobuf watch stream ended inside a frame (${buffered.length} bytes left)`));
      finish();
    });
    stream.on('error', (err) => finish(err));
    stream.on('close', () => finish());
  });
}

function rawExtension(data: Uint8Array): Uint8Array {
  const r = protobuf.Reader.create(data);
  let raw: Uint8Array = new Uint8Array(0);
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag === (1 << 3 | 2)) raw = r.bytes();
    else r.skipType(tag & 7);
  }
  return raw;
}

function typeMetaKind(data: Uint8Array): string {
  const r = protobuf.Reader.create(data);
  let kind = '';
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag === (2 << 3 | 2)) kind = r.string();
    else r.skipType(tag & 7);
  }
  return kind;
}

function objectMeta(data: Uint8Array): DecodedObjectMeta {
  const r = protobuf.Reader.create(data);
  const m: DecodedObjectMeta = {};
  while (r.pos < r.len) {
    const tag = r.uint32();
    switch (tag) {
      case 1 << 3 | 2: m.name = r.string(); break;
      case 2 << 3 | 2: m.generateName = r.string(); break;
      case 3 << 3 | 2: m.namespace = r.string(); break;
      case 5 << 3 | 2: m.uid = r.string(); break;
      case 6 << 3 | 2: m.resourceVersion = r.string(); break;
      case 7 << 3 | 0: m.generation = int64(r); break;
      case 8 << 3 | 2: m.creationTimestamp = time(r.bytes()); break;
      case 9 << 3 | 2: m.deletionTimestamp = time(r.bytes()); break;
      case 10 << 3 | 0: m.deletionGracePeriodSeconds = int64(r); break;
      case 11 << 3 | 2: mapEntry(r.bytes(), (m.labels ??= {})); break;
      case 12 << 3 | 2: mapEntry(r.bytes(), (m.annotations ??= {})); break;
      case 14 << 3 | 2: (m.finalizers ??= []).push(r.string()); break;
      // selfLink (4), ownerReferences (13), managedFields (17) are not read.
      default: r.skipType(tag & 7);
    }
  }
  return m;
}

/** One entry of a protobuf map<string, string>: key = 1, value = 2. */
function mapEntry(data: Uint8Array, into: Record<string, string>): void {
  const r = protobuf.Reader.create(data);
  let key = '';
  let value = '';
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag === (1 << 3 | 2)) key = r.string();
    else if (tag === (2 << 3 | 2)) value = r.string();
    else r.skipType(tag & 7);
  }
  into[key] = value;
}

/** meta/v1 Time (seconds = 1, nanos = 2) as its JSON form: RFC 3339 in UTC, whole seconds. */
function time(data: Uint8Array): string {
  const r = protobuf.Reader.create(data);
  let seconds = 0;
  while (r.pos < r.len) {
    const tag = r.uint32();
    if (tag === (1 << 3 | 0)) seconds = int64(r);
    else r.skipType(tag & 7);
  }
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** An int64 as a number (protobufjs answers a Long when the long package is loaded, a number otherwise). */
function int64(r: protobuf.Reader): number {
  const value: protobuf.Long | number = r.int64();
  return typeof value === 'number' ? value : protobuf.util.LongBits.from(value).toNumber();
}
