// The admin CLI's command line: commands, where the admin secret comes from, and usage errors.
import { AdminUsageError, parseAdminArgs } from "../../../src/cli/adminCli";

const files: Record<string, string> = { ".local-cloudhsm/admin-secret": "from-default-dir\n", "/d/admin-secret": "from-data-dir\n", "/s": "from-file\n" };
const read = (path: string): string => {
  const text = files[path];
  if (text === undefined) throw Object.assign(new Error("missing"), { code: "ENOENT" });
  return text;
};

describe("parseAdminArgs", () => {
  test.each([
    [["reset"], { kind: "reset", toSeed: false }],
    [["reset", "--to-seed"], { kind: "reset", toSeed: true }],
    [["snapshot", "save", "a"], { kind: "save", name: "a" }],
    [["snapshot", "restore", "b"], { kind: "restore", name: "b" }],
    [["snapshot", "list"], { kind: "list" }],
  ])("%j", (argv, command) => {
    expect(parseAdminArgs(argv, {}, read).command).toEqual(command);
  });

  test("the secret comes from --admin-secret-file, else the environment, else the data directory", () => {
    expect(parseAdminArgs(["reset", "--admin-secret-file", "/s"], { LOCALCLOUDHSM_ADMIN_SECRET: "env" }, read).secret).toBe("from-file");
    expect(parseAdminArgs(["reset"], { LOCALCLOUDHSM_ADMIN_SECRET: "from-env" }, read).secret).toBe("from-env");
    expect(parseAdminArgs(["reset", "--data-dir", "/d"], {}, read).secret).toBe("from-data-dir");
    expect(parseAdminArgs(["reset"], {}, read).secret).toBe("from-default-dir");
  });

  test("the server comes from --server, else LOCALCLOUDHSM_ADDRESS, else the default", () => {
    expect(parseAdminArgs(["reset", "--server", "h:1"], { LOCALCLOUDHSM_ADDRESS: "e:2" }, read).server).toBe("h:1");
    expect(parseAdminArgs(["reset"], { LOCALCLOUDHSM_ADDRESS: "e:2" }, read).server).toBe("e:2");
    expect(parseAdminArgs(["reset"], {}, read).server).toBe("127.0.0.1:2225");
  });

  test.each([[[]], [["snapshot"]], [["snapshot", "save"]], [["snapshot", "save", "a", "b"]], [["snapshot", "list", "--to-seed"]], [["restart"]], [["reset", "--bogus"]]])(
    "%j is a usage error",
    (argv) => {
      expect(() => parseAdminArgs(argv, {}, read)).toThrow(AdminUsageError);
    },
  );
});
