// Redaction of credential metadata in grpc-js log lines: every form grpc-js 1.14 prints a header value in,
// whatever the value looks like (spaces, quotes, commas, brackets, several values, several dumps per line).
import * as grpc from "@grpc/grpc-js";
import fc from "fast-check";
import { redactCredentials, REDACTED } from "../../src/server/credentialRedaction";

/** The server's trace line for a request, built the way server-interceptors.js builds it. */
function receivedHeadersLine(metadata: grpc.Metadata): string {
  return "Request to /localcloudhsm.v1.HsmService/ListHsmUsers received headers " + JSON.stringify(metadata.toJSON());
}

/** The client's header dump, built the way subchannel-call.js builds it. */
function headerDump(headers: Record<string, string>): string {
  let out = "";
  for (const key of Object.keys(headers)) out += "\t\t" + key + ": " + headers[key] + "\n";
  return "Received server headers:\n" + out;
}

function metadataOf(entries: [string, string][]): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [key, value] of entries) md.add(key, value);
  return md;
}

/** The JSON object a redacted `received headers` line ends with. */
function dumpedObject(line: string): Record<string, string[]> {
  return JSON.parse(line.slice(line.indexOf("{"))) as Record<string, string[]>;
}

describe("redactCredentials on the server's `received headers` dump (JSON of Metadata.toJSON())", () => {
  test.each([
    ["an admin secret with spaces", "x-admin-secret", "correct horse battery staple"],
    ["a Token-scheme token", "authorization", "Token s3cr3t-token-value"],
    ["a quoted bearer token", "authorization", 'Bearer "s3cr3t token"'],
    ["a bearer token with a bracket and a quote-comma inside", "authorization", 'Bearer ab"],"cd'],
    ["a secret with a backslash and quotes", "x-admin-secret", 'a\\"b c\\'],
  ])("%s: the whole value goes, the other headers stay", (_what, key, value) => {
    const line = receivedHeadersLine(metadataOf([["user-agent", "grpc-node-js/1.14.7"], [key, value], ["x-request-id", "r-1"]]));
    const redacted = redactCredentials(line);
    expect(dumpedObject(redacted)).toEqual({ "user-agent": ["grpc-node-js/1.14.7"], [key]: [REDACTED], "x-request-id": ["r-1"] });
  });

  test("a key with several values (Metadata keeps them apart): all of them go", () => {
    const line = receivedHeadersLine(metadataOf([["x-admin-secret", "first part"], ["x-admin-secret", "second, part"], ["te", "trailers"]]));
    expect(dumpedObject(redactCredentials(line))).toEqual({ "x-admin-secret": [REDACTED], te: ["trailers"] });
  });

  test("both credentials, and two dumps on one line: every value goes", () => {
    const one = receivedHeadersLine(metadataOf([["authorization", "Bearer qqtok qqen1"], ["x-admin-secret", "qqadm qqin1"]]));
    const two = receivedHeadersLine(metadataOf([["x-admin-secret", "qqadm qqin2"], ["authorization", 'Bearer "qqtok qqen2"']]));
    const redacted = redactCredentials(`${one} ${two}`);
    expect(redacted).not.toContain("qq");
    expect(redacted.split(REDACTED)).toHaveLength(5);
  });

  test("a dump cut short inside a value is redacted to the end", () => {
    const line = receivedHeadersLine(metadataOf([["authorization", "Bearer abc def ghi"]]));
    const cut = line.slice(0, line.indexOf("def") + 2);
    expect(redactCredentials(cut)).toBe(`${cut.slice(0, cut.indexOf('"authorization":') + '"authorization":'.length)}["${REDACTED}"]`);
  });

  test("keys that merely contain a credential key's name are left alone", () => {
    const line = receivedHeadersLine(metadataOf([["x-authorization-hint", "public"], ["my-x-admin-secret", "visible"]]));
    expect(redactCredentials(line)).toBe(line);
  });

  test("any printable value of either key, next to any other header, is redacted whole (property)", () => {
    const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 40 });
    const value = printable.filter((v) => v.trim() === v && v.length > 0);
    fc.assert(
      fc.property(fc.constantFrom("authorization", "x-admin-secret"), fc.array(value, { minLength: 1, maxLength: 3 }), value, (key, values, other) => {
        const md = metadataOf([["x-other", other], ...values.map((v): [string, string] => [key, v])]);
        expect(dumpedObject(redactCredentials(receivedHeadersLine(md)))).toEqual({ "x-other": [other], [key]: [REDACTED] });
      }),
      { seed: 9011, numRuns: 500 },
    );
  });
});

describe("redactCredentials on `key: value` lines (header dumps, metadata errors)", () => {
  test("a header dump: each credential line is redacted to its end, the other lines stay", () => {
    const dump = headerDump({ "content-type": "application/grpc", authorization: 'Bearer "tok en"', "x-admin-secret": "adm in secret", te: "trailers" });
    expect(redactCredentials(dump)).toBe(
      headerDump({ "content-type": "application/grpc", authorization: REDACTED, "x-admin-secret": REDACTED, te: "trailers" }),
    );
  });

  test("grpc-js's 'Failed to add metadata entry' error loses the value and what follows it on the line", () => {
    const line = "Failed to add metadata entry x-admin-secret: adm in, secret. Metadata string value \"adm in, secret\" contains illegal characters.";
    expect(redactCredentials(line)).toBe(`Failed to add metadata entry x-admin-secret: ${REDACTED}`);
  });

  test("a bearer value printed without its key is still redacted, quoted or not", () => {
    expect(redactCredentials('sent Bearer "abc def" and Bearer xyz')).toBe(`sent Bearer ${REDACTED} and Bearer ${REDACTED}`);
  });
});
