// kmu's interactive shell fed a whole session on standard input, against a real daemon process: prompts and echo,
// prompts answered by the next line, session keys made token (kept) or left as session keys (gone after exit).
import { mkdirSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { DaemonProcess, DEV_PASSWORD, DEV_USER, makeTempDir, standardArgs } from "./support/daemonProcess";
import { useDaemonCleanup } from "./support/e2eFixture";
import { foundHandles, killAllKmu, KmuRun, runKmu } from "./support/kmuProcess";

const OK = "HSM Return: SUCCESS";
let daemon: DaemonProcess;
let work: string;

/** Pipes `lines` into `kmu` (no command: the shell); no credentials in the environment. */
function session(lines: readonly string[], ...globalFlags: string[]): Promise<KmuRun> {
  return runKmu(globalFlags, { cwd: work, env: { LOCALCLOUDHSM_ADDRESS: daemon.address }, input: lines.map((l) => `${l}\n`).join("") });
}

/** Every handle printed on a "Key Handle:" line, in order. */
function handles(run: KmuRun): number[] {
  return [...run.stdout.matchAll(/Key Handle: (\d+)/g)].map((m) => Number(m[1]));
}

beforeAll(async () => {
  const root = makeTempDir("lch-kmu-shell-");
  work = join(root, "work");
  mkdirSync(work);
  daemon = await DaemonProcess.start(standardArgs(join(root, "data")));
});

afterEach(killAllKmu);

useDaemonCleanup("file");

test("a whole piped session: login, keys, setAttribute session->token, logout, exit", async () => {
  writeFileSync(join(work, "s1.bin"), randomBytes(32));
  writeFileSync(join(work, "s2.bin"), randomBytes(16));
  const run = await session([
    `loginHSM -u CU -s ${DEV_USER} -p ${DEV_PASSWORD}`,
    "# a wrapping key, then two session imports",
    'genSymKey -t 31 -s 32 -l "shell wrapping key"',
    "imSymKey -f s1.bin -w 6 -t 31 -l to-keep -sess",
    "imSymKey -f s2.bin -w 6 -t 31 -l to-lose -sess",
    "findKey -sess 1",
    "setAttribute -o 7 -a 1",
    "1",
    "findKey -sess 0",
    "logoutHSM",
    "exit",
  ]);
  expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
  const [wrap, keep, lose] = handles(run);
  expect(wrap).toBe(6);
  expect(keep).toBe(7);

  // Each command is echoed after the prompt; its output follows, then a blank line and the next prompt.
  expect(run.stdout.startsWith(`Command: loginHSM -u CU -s ${DEV_USER} -p ${DEV_PASSWORD}\n\n        Cfm3LoginHSM returned: 0x00 : ${OK}\n\n        Cluster Error Status\n`)).toBe(true);
  expect(run.stdout).toContain(`Command: genSymKey -t 31 -s 32 -l "shell wrapping key"\n\n        Cfm3GenerateSymmetricKey returned: 0x00 : ${OK}\n`);
  // The prompt's answer is the next line of the script, echoed like typed input.
  expect(run.stdout).toContain(
    `Command: setAttribute -o 7 -a 1\nThis attribute is defined as a boolean value.\nEnter the boolean attribute value (0 or 1):1\n\n        Cfm3SetAttribute returned: 0x00 : ${OK}\n\n        Cluster Error Status\n`,
  );
  expect(run.stdout).toContain(`Command: findKey -sess 1\nTotal number of keys present 2\n\n number of keys matched from start index 0::1\n${keep}, ${lose}\n`);
  expect(run.stdout).toContain(`Command: findKey -sess 0\nTotal number of keys present 2\n\n number of keys matched from start index 0::1\n${wrap}, ${keep}\n`);
  expect(run.stdout).toContain(`Command: logoutHSM\n\n        Cfm3LogoutHSM returned: 0x00 : ${OK}\n`);
  expect(run.stdout.endsWith("Command: exit\n")).toBe(true);

  // After the session: the key made token is kept; the other session key vanished with the session.
  const later = await runKmu(["findKey"], { cwd: work, env: { LOCALCLOUDHSM_ADDRESS: daemon.address, KMU_USER: DEV_USER, KMU_PASSWORD: DEV_PASSWORD } });
  expect(foundHandles(later)).toEqual([wrap, keep]);
});

test("-hpswd reads the password from the next line and never echoes it; end of input logs out", async () => {
  const run = await session([`loginHSM -u CU -s ${DEV_USER} -hpswd`, DEV_PASSWORD, "genSymKey -t 31 -s 16 -l ends-with-eof -sess"]);
  expect(run.code).toBe(0);
  expect(run.stdout).toContain(`Command: loginHSM -u CU -s ${DEV_USER} -hpswd\nEnter password: \n\n        Cfm3LoginHSM returned: 0x00 : ${OK}\n`);
  expect(run.stdout).not.toContain(DEV_PASSWORD);
  // The end of input left the shell after the prompt line and logged out (kmu awaits the Logout answer
  // before exiting): the session key is gone.
  expect(run.stdout.endsWith("Command: \n")).toBe(true);
  const check = await session([`loginHSM -u CU -s ${DEV_USER} -p ${DEV_PASSWORD}`, "findKey -l ends-with-eof"]);
  expect(check.stdout).toContain("Command: findKey -l ends-with-eof\nTotal number of keys present 0\n");
});

test("failures and mistakes do not end the session; the exit status reports them", async () => {
  const run = await session([
    `loginHSM -u CU -s ${DEV_USER} -p wrong-password`,
    `loginHSM -u CO -s ${DEV_USER} -p ${DEV_PASSWORD}`,
    `loginHSM -u CU -s ${DEV_USER} -p ${DEV_PASSWORD}`,
    `loginHSM -u CU -s ${DEV_USER} -p ${DEV_PASSWORD}`,
    "getAttribute -o 424242 -a 371 -out nothing.txt",
    "imSymKey -f s1.bin -w 6",
    "noSuchCommand",
    "Error2String -r 0xa3",
    "quit",
  ]);
  expect(run.code).toBe(1);
  expect(run.stdout).toContain("Command: loginHSM -u CU -s alice -p wrong-password\n\n        Cfm3LoginHSM returned: 0xa3 : HSM Error: RET_USER_LOGIN_FAILURE\n");
  expect(run.stdout).toContain("Command: loginHSM -u CO -s alice -p password1\n\n        Cfm3LoginHSM returned: 0xdb : HSM Error: Invalid User Type.\n");
  expect(run.stderr).toContain("already logged in");
  expect(run.stdout).toContain("Cfm3GetAttribute returned: 0xa8 : HSM Error: Invalid object handle is passed to this operation");
  expect(run.stdout).toContain("Syntax: imSymKey -h");
  expect(run.stdout).toContain("Help Commands Available:");
  expect(run.stdout).toContain("Error Code a3 maps to HSM Error: RET_USER_LOGIN_FAILURE");
  expect(run.stdout.endsWith("Command: quit\n")).toBe(true);
});

test("--json in the shell: one JSON object per command and no prompt on stdout", async () => {
  const run = await session([`loginHSM -u CU -s ${DEV_USER} -p ${DEV_PASSWORD}`, "listUsers", "logoutHSM"], "--json");
  expect(run.code).toBe(0);
  const lines = run.stdout.trimEnd().split("\n").map((l) => JSON.parse(l) as { error_code: number; data: Record<string, unknown> });
  expect(lines.map((l) => l.error_code)).toEqual([0, 0, 0]);
  expect(lines[0]!.data).toMatchObject({ username: DEV_USER, node_statuses: [{ node_id: 0 }, { node_id: 1 }, { node_id: 2 }] });
  expect(lines[1]!.data.users).toEqual([{ user_id: lines[0]!.data.user_id, user_type: "CU", username: DEV_USER, login_failure_count: 0, locked: false }]);
});
