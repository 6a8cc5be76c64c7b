// The one line printed for a failed start.
import { startupFailureLine, StartupError } from "../../src/server/startupError";

describe("startupFailureLine", () => {
  test("is the message on one line, prefixed, without the stack", () => {
    const err = new StartupError("store /d/store.sqlite is damaged\n  (page 3)");
    expect(startupFailureLine(err, false)).toBe("local-cloudhsm: store /d/store.sqlite is damaged (page 3)");
    // Any error class prints the same way (a typed error from the store, a Node error).
    expect(startupFailureLine(new TypeError("bad"), false)).toBe("local-cloudhsm: bad");
    expect(startupFailureLine("thrown text", false)).toBe("local-cloudhsm: thrown text");
  });

  test("adds the stack only when asked (--log-level debug)", () => {
    const err = new Error("boom");
    const lines = startupFailureLine(err, true).split("\n");
    expect(lines[0]).toBe("local-cloudhsm: boom");
    expect(lines.slice(1).join("\n")).toBe(err.stack);
  });
});
