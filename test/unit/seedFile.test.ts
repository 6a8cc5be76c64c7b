// Seed files: YAML and JSON read into a checked SeedDocument; every problem names the file and the line, never a secret.
import { SeedError } from "../../src/hsm/seed";
import { parseSeed, SeedFileError } from "../../src/server/seedFile";

function failure(text: string, file = "seed.yaml"): string {
  try {
    parseSeed(text, file);
  } catch (err) {
    expect(err).toBeInstanceOf(SeedFileError);
    return (err as Error).message;
  }
  throw new Error("expected the seed to be refused");
}

describe("parseSeed", () => {
  test("reads YAML and JSON into the same document", () => {
    const yaml = parseSeed("users:\n  - role: cu\n    name: Alice\n    password: password1\nkeys:\n  - { owner: alice, label: k, id: k-1, type: 31, size: 16 }\n", "s.yaml");
    const json = parseSeed(JSON.stringify({ users: [{ role: "cu", name: "Alice", password: "password1" }], keys: [{ owner: "alice", label: "k", id: "k-1", type: 31, size: 16 }] }), "s.json");
    expect(json.document).toEqual(yaml.document);
    expect(yaml.document.keys?.[0]?.id).toBe("k-1");
  });

  test("an empty file is an empty seed", () => {
    expect(parseSeed("", "empty.yaml").document).toEqual({});
  });

  test.each([
    ["a value of the wrong kind", "keys:\n  - owner: a\n    label: k\n    id: k-1\n    type: aes\n    size: big\n", 6, "keys[0].size"],
    ["an unknown field", "users:\n  - role: CU\n    name: a\n    pasword: password1\n", 4, "users[0].pasword"],
    ["a missing field (its mapping's line)", "keys:\n  - owner: a\n    id: k-1\n    type: aes\n    size: 16\n", 2, "keys[0].label"],
    ["a JSON file", '{\n  "users": [\n    {"role": "XX", "name": "a", "password": "password1"}\n  ]\n}\n', 3, "users[0].role"],
  ])("%s is refused naming the line", (_name, text, line, path) => {
    const message = failure(text);
    expect(message).toMatch(new RegExp(`^seed file seed\\.yaml line ${line}: ${path.replace(/[[\].]/g, "\\$&")}: `));
  });

  test("a syntax error names its line and quotes nothing of the text", () => {
    const message = failure("users:\n  - role: CU\n    password: [secret-password\n  name: x\n");
    expect(message).toMatch(/^seed file seed\.yaml line \d+: not valid YAML or JSON/);
    expect(message).not.toContain("secret-password");
  });

  test("a duplicate key is a syntax error", () => {
    expect(failure("users: []\nusers: []\n")).toMatch(/^seed file seed\.yaml line 2: /);
  });

  test("locate turns an apply-time SeedError into the line of its value", () => {
    const parsed = parseSeed("users:\n  - role: CU\n    name: a\n    password: password1\n  - role: CO\n    name: b\n    password: password1\n", "x.yaml");
    expect(parsed.locate(new SeedError(["users", 1, "role"], "user b exists with role CU")).message).toBe(
      "seed file x.yaml line 5: users[1].role: user b exists with role CU",
    );
  });
});
