// The data directory lock: one holder at a time, the holder's pid read from the kernel's lock table.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { DataDirLock, DataDirLockedError, holderPidFromProcLocks, linuxDevice } from "../../src/server/dataDirLock";
import { makeTempDir, removeDir } from "./support/harness";

describe("holderPidFromProcLocks", () => {
  const device = { major: 0xfen, minor: 0n };
  const table = [
    "1: POSIX  ADVISORY  WRITE 4242 fe:00:2148208 1073741824 1073742335",
    "1: -> POSIX  ADVISORY  WRITE 5151 fe:00:2148208 1073741824 1073742335",
    "2: FLOCK  ADVISORY  WRITE 6161 fe:00:2148208 0 EOF",
    "3: POSIX  ADVISORY  READ 7171 fe:00:999 128 128",
    "4: OFDLCK ADVISORY  WRITE -1 fe:00:2148208 0 EOF",
    "",
  ].join("\n");

  test("names the process holding a POSIX lock on the inode; waiters, flock and OFD locks do not count", () => {
    expect(holderPidFromProcLocks(table, device, 2148208n)).toBe(4242);
    expect(holderPidFromProcLocks(table, device, 999n)).toBe(7171);
    expect(holderPidFromProcLocks(table, device, 12345n)).toBeUndefined();
  });

  test("prefers the same device; a lock on the same inode elsewhere counts only when it is the only one", () => {
    const twoDevices = "1: POSIX  ADVISORY  WRITE 11 08:01:77 0 EOF\n2: POSIX  ADVISORY  WRITE 22 fe:00:77 0 EOF\n";
    expect(holderPidFromProcLocks(twoDevices, device, 77n)).toBe(22);
    // An overlay file system may print the underlying device.
    expect(holderPidFromProcLocks("1: POSIX  ADVISORY  WRITE 11 00:2a:77 0 EOF\n", device, 77n)).toBe(11);
    expect(holderPidFromProcLocks("1: POSIX  ADVISORY  WRITE 11 00:2a:77 0 EOF\n2: POSIX  ADVISORY  WRITE 33 00:2b:77 0 EOF\n", device, 77n)).toBeUndefined();
  });

  test("linuxDevice splits st_dev as glibc's major() and minor() do", () => {
    expect(linuxDevice(0xfe00n)).toEqual({ major: 0xfen, minor: 0n });
    expect(linuxDevice(0x0803n)).toEqual({ major: 8n, minor: 3n });
    // Large numbers use the high bits: major 0x1234, minor 0x56789.
    const dev = ((0x1234n & 0xfffn) << 8n) | ((0x1234n & 0xfffff000n) << 32n) | (0x56789n & 0xffn) | ((0x56789n & 0xffffff00n) << 12n);
    expect(linuxDevice(dev)).toEqual({ major: 0x1234n, minor: 0x56789n });
  });
});

describe("DataDirLock", () => {
  let dir: string;
  const held: DataDirLock[] = [];
  beforeEach(() => {
    dir = makeTempDir();
  });
  afterEach(() => {
    for (const lock of held.splice(0)) lock.release();
    removeDir(dir);
  });

  test("a second acquire is refused, naming the directory and the holder's pid; after release it succeeds", () => {
    held.push(DataDirLock.acquire(dir));
    let refusal: unknown;
    try {
      held.push(DataDirLock.acquire(dir));
    } catch (err) {
      refusal = err;
    }
    expect(refusal).toBeInstanceOf(DataDirLockedError);
    const locked = refusal as DataDirLockedError;
    expect(locked.dataDir).toBe(dir);
    if (process.platform === "linux") {
      // The holder is this very process (SQLite keeps the locks of two connections apart within a process).
      expect(locked.holderPid).toBe(process.pid);
      expect(locked.message).toContain(`pid ${process.pid}`);
    }
    expect(locked.message).toContain(dir);

    held.shift()!.release();
    held.push(DataDirLock.acquire(dir));
    expect(held).toHaveLength(1);
  });

  test("a lock file that is not SQLite's is a start-up error naming it, not a claim that the directory is busy", () => {
    writeFileSync(join(dir, "daemon.lock"), "x".repeat(200));
    expect(() => DataDirLock.acquire(dir)).toThrow(join(dir, "daemon.lock"));
    expect(() => DataDirLock.acquire(dir)).not.toThrow(DataDirLockedError);
  });
});
