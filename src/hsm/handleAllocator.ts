// Hands out key handles: unique, increasing, never reused (also across restarts), never the internal key's.
import { INTERNAL_KEY_HANDLE } from "./key";

const RESERVATION_BLOCK = 1024;

/**
 * Allocates from a durably reserved block, so most allocations touch no disk and a restart
 * skips the unused rest of the block instead of reusing it.
 */
export class HandleAllocator {
  private next: number;

  constructor(
    private ceiling: number,
    private readonly reserve: (ceiling: number) => void,
  ) {
    this.next = ceiling;
  }

  allocate(): number {
    if (this.next === INTERNAL_KEY_HANDLE) this.next += 1;
    if (this.next >= this.ceiling) {
      this.ceiling = this.next + RESERVATION_BLOCK;
      this.reserve(this.ceiling);
    }
    const handle = this.next;
    this.next += 1;
    return handle;
  }
}
