// WatchSyncStatus responses encoded once: each event's bytes are kept per event, and watchers sharing a scan share its batch's bytes.
import * as grpc from "@grpc/grpc-js";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { WatchSyncStatusResponse } from "../../clients/generated/localcloudhsm/v1/hsm_service";
import { ClusterEvent } from "../hsm/revisionLog";
import { WatchItem } from "../hsm/syncWatcher";
import { toSyncEvent } from "./responseMapping";

/** Field 3 (batch) of WatchSyncStatusResponse, length-delimited. */
const BATCH_FIELD_TAG = (3 << 3) | 2;

/**
 * A response holding one event is `field 1 (SyncEvent)`; a batch is `field 3 (SyncEventBatch)`
 * whose repeated field 1 entries are byte for byte those single-event responses. So each event is
 * encoded once, and a batch is one length prefix and a copy.
 */
export class WatchResponseEncoder {
  private readonly eventBytes = new WeakMap<ClusterEvent, Uint8Array>();
  /** Keyed by the scan's event list, which every watcher sharing the scan holds (see SharedScans). */
  private readonly batches = new WeakMap<readonly ClusterEvent[], Buffer>();

  encode(item: WatchItem): Buffer {
    switch (item.kind) {
      case "event":
        return asBuffer(this.entry(item.event));
      case "progress":
        return asBuffer(WatchSyncStatusResponse.encode({ message: { $case: "progress", value: { revision: String(item.revision) } } }).finish());
      case "batch": {
        let bytes = this.batches.get(item.events);
        if (!bytes) {
          bytes = this.batch(item.events);
          this.batches.set(item.events, bytes);
        }
        return bytes;
      }
    }
  }

  private entry(event: ClusterEvent): Uint8Array {
    let bytes = this.eventBytes.get(event);
    if (!bytes) {
      bytes = WatchSyncStatusResponse.encode({ message: { $case: "event", value: toSyncEvent(event) } }).finish();
      this.eventBytes.set(event, bytes);
    }
    return bytes;
  }

  private batch(events: readonly ClusterEvent[]): Buffer {
    const writer = new BinaryWriter().uint32(BATCH_FIELD_TAG).fork();
    for (const event of events) writer.raw(this.entry(event));
    return asBuffer(writer.join().finish());
  }
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** The service definition with WatchSyncStatus writing the encoder's bytes as they are. */
export function withEncodedWatchResponses<T extends grpc.ServiceDefinition>(definition: T): T {
  const watch = definition["watchSyncStatus"];
  if (!watch) throw new Error("the service has no watchSyncStatus method");
  return { ...definition, watchSyncStatus: { ...watch, responseSerialize: (bytes: Buffer) => bytes } };
}
