// kmu's wrapKey and unWrapKey without a daemon: flags, mechanism and hash tables, kmu's header, and the console text.
import { unWrapKey } from "../../../src/cli/commands/unWrapKey";
import { wrapKey } from "../../../src/cli/commands/wrapKey";
import { prepare } from "../../../src/cli/dispatch";
import { LocalError } from "../../../src/cli/failures";
import { parseFlags } from "../../../src/cli/flagParser";
import { formatUnwrapKey, formatWrapKey } from "../../../src/cli/format/wrapKey";
import { parseModulus } from "../../../src/cli/modulusFile";
import { hasHeader, readHeader, withHeader } from "../../../src/cli/wrapHeader";
import { HashAlgorithm, WrapMechanism } from "../../../clients/generated/localcloudhsm/v1/hsm_service";

function refused(line: string): string {
  const prepared = prepare(line.split(" "));
  if (prepared.kind !== "done" || prepared.outcome.kind !== "usage") throw new Error(`"${line}" was not refused: ${JSON.stringify(prepared)}`);
  return prepared.outcome.message;
}

function checked<P>(command: { flags: Parameters<typeof parseFlags>[1]; check: (f: never) => P }, line: string): P {
  const parsed = parseFlags(line.split(" ").slice(1), command.flags);
  if (parsed.help) throw new Error("help");
  return command.check(parsed.flags as never);
}

describe("wrapKey", () => {
  test("the documented example: -m 4, with kmu's header", () => {
    expect(checked(wrapKey, "wrapKey -k 7 -w 14 -out 3DES-encrypted.key -m 4")).toEqual({
      keyHandle: 7,
      wrappingKey: 14,
      outFile: "3DES-encrypted.key",
      mechanism: WrapMechanism.WRAP_MECHANISM_AES_KEY_WRAP_PAD_PKCS5,
      aadFile: undefined,
      ivFile: undefined,
      noHeader: false,
    });
  });

  test("every served -m maps to its mechanism; -t to the OAEP hash", () => {
    const mechanisms = [4, 5, 6, 7, 8, 10].map((m) => checked(wrapKey, `wrapKey -k 7 -w 14 -out f -m ${m}`).mechanism);
    expect(mechanisms).toEqual([4, 5, 6, 7, 8, 10]);
    expect(checked(wrapKey, "wrapKey -k 7 -w 14 -out f -m 8 -t 5")).toMatchObject({ oaepHash: HashAlgorithm.HASH_ALGORITHM_SHA512 });
    expect(checked(wrapKey, "wrapKey -k 7 -w 14 -out f -m 7 -t 2")).toMatchObject({ oaepHash: HashAlgorithm.HASH_ALGORITHM_SHA1 });
  });

  test("refusals before any call", () => {
    expect(refused("wrapKey -k 7 -w 14 -out f")).toBe("wrapKey: -m is required");
    expect(refused("wrapKey -k 7 -w 14 -out f -m 11")).toBe("wrapKey: -m must be one of 4, 5, 6, 7, 8, 10, got 11");
    expect(refused("wrapKey -k 7 -w 14 -out f -m 8 -t 1")).toBe("wrapKey: -t must be one of 2, 3, 4, 5, 6, got 1");
    expect(refused("wrapKey -k 7 -w 14 -out f -m 4 -aad a.bin")).toBe("wrapKey: -aad and -tag_size are valid only with -m 10 (AES_GCM)");
    expect(refused("wrapKey -k 7 -w 14 -out f -m 10 -iv_file iv.bin")).toBe("wrapKey: -iv_file is valid only with -noheader and -m 10 (AES_GCM)");
    expect(refused("wrapKey -k 7 -w 14 -out f -m 10 -tag_size 12")).toBe("wrapKey: -tag_size: the HSM makes 16-byte tags; 16 is the only value");
    expect(refused("wrapKey -k 7 -w 14 -out f -m 4 -i 0xA6A6A6A6A6A6A6A6")).toBe("wrapKey: -i is valid only with -noheader and -m 4 or 5");
    expect(refused("wrapKey -k 7 -w 14 -out f -m 5 -noheader -i 0x0000000000000000")).toContain("only the default IV");
  });

  test("output: the documented lines, the missing closing quote included", () => {
    expect(formatWrapKey("3DES-encrypted.key", 307)).toBe(
      '\n        Key Wrapped.\n\n        Wrapped Key written to file "3DES-encrypted.key length 307\n\n        Cfm2WrapKey returned: 0x00 : HSM Return: SUCCESS\n',
    );
  });
});

describe("unWrapKey", () => {
  test("the documented examples: with a header only -f -w -m; -noheader needs -l -kc -kt", () => {
    expect(checked(unWrapKey, "unWrapKey -f 3DES.key -w 6 -m 4")).toMatchObject({ file: "3DES.key", wrappingKey: 6, noHeader: false, label: undefined });
    expect(checked(unWrapKey, "unWrapKey -f 3DES.key -w 6 -noheader -l unwrapped3DES -kc 4 -kt 21 -m 4")).toMatchObject({
      noHeader: true,
      label: "unwrapped3DES",
      keyClass: 4,
      keyType: 21,
      mechanism: WrapMechanism.WRAP_MECHANISM_AES_KEY_WRAP_PAD_PKCS5,
    });
    expect(refused("unWrapKey -f k -w 6 -m 4 -noheader -l x -kc 4")).toBe("unWrapKey: -noheader needs -l, -kc and -kt");
    expect(refused("unWrapKey -f k -w 6 -m 4 -noheader -l x -kc 2 -kt 31")).toBe("unWrapKey: -kc must be one of 3, 4, got 2");
    expect(refused("unWrapKey -f k -w 6 -m 4 -timeout 3")).toBe("unWrapKey: -timeout is valid only together with -min_srv");
  });

  test("the key flags: -sess -nex -u -min_srv -timeout -attest -m_value", () => {
    expect(checked(unWrapKey, "unWrapKey -f k -w 6 -m 6 -sess -nex -u 5,6 -min_srv 2 -timeout 9 -attest -m_value 0")).toMatchObject({
      nonExtractable: true,
      keyOptions: { session: true, attest: true, shareWith: [5, 6], minSrv: 2, timeoutSeconds: 9 },
    });
  });

  test("output: the header example's lines; -noheader shows the two template steps", () => {
    const nodes = [0, 1].map((nodeId) => ({ nodeId, errState: 0, description: "HSM Return: SUCCESS" }));
    expect(formatUnwrapKey({ steps: ["Cfm3UnWrapKey"], keyHandle: 29, nodes })).toBe(
      "\n        Cfm3UnWrapKey returned: 0x00 : HSM Return: SUCCESS\n\n        Key Unwrapped.  Key Handle: 29\n\n        Cluster Error Status\n" +
        "        Node id 0 and err state 0x00000000 : HSM Return: SUCCESS\n        Node id 1 and err state 0x00000000 : HSM Return: SUCCESS\n",
    );
    expect(formatUnwrapKey({ steps: ["Cfm3CreateUnwrapTemplate2", "Cfm2UnWrapWithTemplate3"], keyHandle: 8, nodes, attestationPassed: true })).toContain(
      "        Cfm3CreateUnwrapTemplate2 returned: 0x00 : HSM Return: SUCCESS\n        Cfm2UnWrapWithTemplate3 returned: 0x00 : HSM Return: SUCCESS\n\n        Key Unwrapped.  Key Handle: 8\n\n        Attestation Check : [PASS]\n",
    );
  });
});

describe("kmu's wrap header", () => {
  const info = { keyClass: 4, keyType: 21, label: "3des é", id: "id-1" };
  const blob = Buffer.from("0011223344556677", "hex");

  test("round trip: the info and the blob come back unchanged", () => {
    const file = withHeader(info, blob);
    expect(hasHeader(file)).toBe(true);
    expect(readHeader(file, "f")).toEqual({ info, blob });
    expect(hasHeader(blob)).toBe(false);
  });

  test("a bare blob, a truncated header, or bad JSON is kmu's own WRAP_HEADER_INVALID", () => {
    const file = withHeader(info, blob);
    const damaged = [blob, file.subarray(0, 12), Buffer.concat([file.subarray(0, 7), Buffer.from("{not json".padEnd(file.readUInt16BE(5), " "))])];
    for (const bad of damaged) {
      expect(() => readHeader(bad, "f")).toThrow(LocalError);
      try {
        readHeader(bad, "f");
      } catch (err) {
        expect((err as LocalError).reason).toBe("WRAP_HEADER_INVALID");
      }
    }
  });
});

describe("findKey -m: the modulus file", () => {
  const modulus = Buffer.from("c0ffee0123456789", "hex");
  test("raw bytes, bare hex, openssl's Modulus= line and getAttribute's dump give the same bytes; leading zeros dropped", () => {
    expect(parseModulus(modulus)).toEqual(modulus);
    expect(parseModulus(Buffer.from("C0FFEE0123456789\n"))).toEqual(modulus);
    expect(parseModulus(Buffer.from("Modulus=C0FFEE0123456789\n"))).toEqual(modulus);
    expect(parseModulus(Buffer.from("OBJ_ATTR_MODULUS\nc0ffee01\n23456789\n"))).toEqual(modulus);
    expect(parseModulus(Buffer.concat([Buffer.from([0, 0]), modulus]))).toEqual(modulus);
  });
});
