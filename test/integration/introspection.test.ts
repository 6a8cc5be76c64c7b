// grpc.health.v1 and server reflection over real gRPC, through dynamic clients of the protos their packages ship.
import * as grpc from "@grpc/grpc-js";
import { DynamicClient, dynamicUnary, fileDescriptorType, healthClient, reflect, reflectionClient } from "../support/grpcDynamic";
import { startTestDaemon, TestDaemon } from "../support/testDaemon";

interface ListServicesResponse {
  message_response: string;
  list_services_response: { service: { name: string }[] };
}

interface FileDescriptorResponse {
  message_response: string;
  file_descriptor_response: { file_descriptor_proto: Buffer[] };
  error_response: { error_code: number } | null;
}

describe("health and reflection", () => {
  let t: TestDaemon;
  let health: DynamicClient;
  let reflectionV1: DynamicClient;
  let reflectionV1alpha: DynamicClient;

  beforeAll(async () => {
    t = await startTestDaemon();
    health = healthClient(t.address);
    reflectionV1 = reflectionClient(t.address, "v1");
    reflectionV1alpha = reflectionClient(t.address, "v1alpha");
  });
  afterAll(async () => {
    health.close();
    reflectionV1.close();
    reflectionV1alpha.close();
    await t.close();
  });

  describe("grpc.health.v1.Health/Check", () => {
    test.each(["", "localcloudhsm.v1.HsmService", "localcloudhsm.v1.AdminService"])("%p is SERVING", async (service) => {
      const res = await dynamicUnary<{ status: string }>(health, "Check", { service });
      expect(res.status).toBe("SERVING");
    });

    test("an unknown service -> NOT_FOUND", async () => {
      await expect(dynamicUnary(health, "Check", { service: "no.such.Service" })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    });
  });

  describe("server reflection", () => {
    type DescribedFile = {
      name: string;
      package: string;
      messageType: { name: string; field: { name: string; typeName: string }[]; nestedType: { name: string; options: { mapEntry?: boolean } | null }[] }[];
      service: { name: string; method: { name: string }[] }[];
    };
    const filesContaining = async (symbol: string): Promise<DescribedFile[]> => {
      const res = await reflect<FileDescriptorResponse>(reflectionV1, { file_containing_symbol: symbol });
      expect(res.message_response).toBe("file_descriptor_response");
      const type = fileDescriptorType();
      return res.file_descriptor_response.file_descriptor_proto.map(
        (bytes) => type.toObject(type.decode(bytes), { defaults: true, arrays: true }) as DescribedFile,
      );
    };

    test.each(["v1", "v1alpha"] as const)("%s list_services includes HsmService, AdminService and grpc.health.v1.Health", async (version) => {
      const client = version === "v1" ? reflectionV1 : reflectionV1alpha;
      const res = await reflect<ListServicesResponse>(client, { list_services: "" });
      expect(res.message_response).toBe("list_services_response");
      const names = res.list_services_response.service.map((s) => s.name);
      expect(names).toEqual(expect.arrayContaining(["localcloudhsm.v1.HsmService", "localcloudhsm.v1.AdminService", "grpc.health.v1.Health"]));
    });

    test("file_containing_symbol grpc.health.v1.Health gives the Health service with Check and Watch", async () => {
      const files = await filesContaining("grpc.health.v1.Health");
      const file = files.find((f) => f.package === "grpc.health.v1");
      const service = file?.service.find((s) => s.name === "Health");
      expect(service?.method.map((m) => m.name)).toEqual(expect.arrayContaining(["Check", "Watch"]));
      expect(file!.messageType.map((m) => m.name)).toEqual(expect.arrayContaining(["HealthCheckRequest", "HealthCheckResponse"]));
    });

    test("file_containing_symbol google.rpc.ErrorInfo gives ErrorInfo with reason, domain and metadata (what every failure carries)", async () => {
      const files = await filesContaining("google.rpc.ErrorInfo");
      const file = files.find((f) => f.package === "google.rpc");
      const errorInfo = file?.messageType.find((m) => m.name === "ErrorInfo");
      expect(errorInfo?.field.map((f) => f.name)).toEqual(expect.arrayContaining(["reason", "domain", "metadata"]));
      // protoc's name for the map entry: Go's protodesc (buf curl, grpcurl) rejects the file under any other.
      expect(errorInfo?.nestedType.map((n) => [n.name, n.options?.mapEntry])).toEqual([["MetadataEntry", true]]);
      expect(errorInfo?.field.find((f) => f.name === "metadata")?.typeName).toBe("MetadataEntry");
      // The trailer's outer message is resolvable too.
      expect(file!.messageType.map((m) => m.name)).toContain("Status");
    });

    test("file_containing_symbol gives a descriptor with the HsmService methods and messages", async () => {
      const res = await reflect<FileDescriptorResponse>(reflectionV1, { file_containing_symbol: "localcloudhsm.v1.HsmService" });
      expect(res.message_response).toBe("file_descriptor_response");
      const type = fileDescriptorType();
      const files = res.file_descriptor_response.file_descriptor_proto.map(
        (bytes) => type.toObject(type.decode(bytes), { defaults: true }) as {
            name: string;
            package: string;
            messageType: { name: string }[];
            service: { name: string; method: { name: string }[] }[];
          },
      );
      // @grpc/reflection serves one merged file per package (named after the package), not the .proto files themselves.
      const file = files.find((f) => f.service.some((s) => s.name === "HsmService"));
      expect(file).toMatchObject({ package: "localcloudhsm.v1" });
      expect(file!.messageType.map((m) => m.name)).toEqual(expect.arrayContaining(["ImportSymKeyRequest", "FindKeyResponse", "AttributeValue"]));
      const methods = file!.service.find((s) => s.name === "HsmService")!.method.map((m) => m.name);
      expect(methods).toEqual(expect.arrayContaining(["Login", "Logout", "GenSymKey", "ImportSymKey", "GetAttribute", "FindKey"]));
    });

    test("every served file lists the files its types come from, and those are served too (as protoc would require)", async () => {
      type File = {
        name: string;
        package: string;
        dependency: string[];
        messageType: { name: string; field: { typeName: string }[] }[];
        enumType: { name: string }[];
        service: { method: { inputType: string; outputType: string }[] }[];
      };
      const type = fileDescriptorType();
      const decode = (bytes: Buffer): File => type.toObject(type.decode(bytes), { defaults: true, arrays: true }) as File;
      const res = await reflect<FileDescriptorResponse>(reflectionV1, { file_containing_symbol: "localcloudhsm.v1.HsmService" });
      const files = new Map(res.file_descriptor_response.file_descriptor_proto.map((bytes) => decode(bytes)).map((f) => [f.name, f]));
      const declared = (f: File): string[] => [...f.messageType, ...f.enumType].map((t) => `${f.package}.${t.name}`);
      const main = [...files.values()].find((f) => f.package === "localcloudhsm.v1")!;
      expect(main.dependency).toEqual(["google_protobuf.proto"]);
      for (const file of files.values()) {
        const visible = new Set([...declared(file), ...file.dependency.flatMap((d) => declared(files.get(d)!))]);
        const used = [
          ...file.messageType.flatMap((m) => m.field.map((f) => f.typeName)),
          ...file.service.flatMap((s) => s.method.flatMap((m) => [m.inputType, m.outputType])),
        ].filter((name) => name !== "");
        // A name is absolute (leading dot) or relative to the file's package and its parents, as protoc resolves it.
        const resolves = (name: string): boolean => {
          if (name.startsWith(".")) return visible.has(name.slice(1));
          const parts = file.package.split(".");
          for (let n = parts.length; n >= 0; n--) if (visible.has([...parts.slice(0, n), name].filter((p) => p !== "").join("."))) return true;
          return false;
        };
        for (const name of used) expect({ file: file.name, type: name, resolves: resolves(name) }).toEqual({ file: file.name, type: name, resolves: true });
      }
      for (const dependency of main.dependency) {
        const byName = await reflect<FileDescriptorResponse>(reflectionV1, { file_by_filename: dependency });
        expect(byName.message_response).toBe("file_descriptor_response");
        expect(decode(byName.file_descriptor_response.file_descriptor_proto[0]!).messageType.map((m) => m.name)).toContain("Timestamp");
      }
    });

    test("an unknown symbol -> an error_response with NOT_FOUND", async () => {
      const res = await reflect<FileDescriptorResponse>(reflectionV1, { file_containing_symbol: "no.such.Symbol" });
      expect(res.message_response).toBe("error_response");
      expect(res.error_response?.error_code).toBe(grpc.status.NOT_FOUND);
    });
  });
});
