// Completes the files @grpc/reflection serves so strict clients (grpcurl, buf curl) can link them: each merged per-package file lists the files its types refer to, and map entries carry protoc's names.
import { PackageDefinition } from "@grpc/proto-loader";
import { FileDescriptorProto, IDescriptorProto, IEnumDescriptorProto, IFileDescriptorProto } from "protobufjs/ext/descriptor";

/**
 * proto-loader merges the .proto files of a package into one file per package, and leaves that file's
 * `dependency` list empty: `localcloudhsm_v1.proto` uses `google.protobuf.Timestamp` from
 * `google_protobuf.proto` without saying so. A client that builds descriptors the way protoc does
 * (grpcurl, protoreflect) then cannot resolve the type. This rebuilds each file's list from the types
 * it uses and re-encodes the files in the definition.
 */
export function withLinkedFiles(definition: PackageDefinition): PackageDefinition {
  const files = new Map<string, IFileDescriptorProto>();
  for (const entry of Object.values(definition)) {
    for (const bytes of protosOf(entry)) {
      const file = FileDescriptorProto.toObject(FileDescriptorProto.decode(bytes), { arrays: true }) as IFileDescriptorProto;
      if (file.name && !files.has(file.name)) files.set(file.name, file);
    }
  }

  const owners = new Map<string, string>();
  for (const [name, file] of files) {
    const pkg = file.package ?? "";
    indexTypes(pkg, file.messageType ?? [], file.enumType ?? [], (symbol) => owners.set(symbol, name));
  }

  const encoded = new Map<string, Buffer>();
  for (const [name, file] of files) {
    const needed = new Set<string>((file.dependency as string[] | undefined) ?? []);
    for (const reference of referencesOf(file)) {
      const owner = resolve(reference, file.package ?? "", owners);
      if (owner !== undefined && owner !== name) needed.add(owner);
    }
    const linked: IFileDescriptorProto = { ...file, messageType: withMapEntryNames(file.messageType ?? []), dependency: [...needed].sort() };
    encoded.set(name, Buffer.from(FileDescriptorProto.encode(FileDescriptorProto.fromObject(linked as Record<string, unknown>)).finish()));
  }

  const out: PackageDefinition = {};
  for (const [key, entry] of Object.entries(definition)) {
    const protos = protosOf(entry);
    if (protos.length === 0) {
      out[key] = entry;
      continue;
    }
    const relinked = protos.map((bytes) => {
      const name = (FileDescriptorProto.decode(bytes) as IFileDescriptorProto).name;
      return (name !== undefined && encoded.get(name)) || bytes;
    });
    out[key] = { ...entry, fileDescriptorProtos: relinked } as typeof entry;
  }
  return out;
}

/**
 * protobufjs names the entry message of `map<..> metadata` "Metadata"; protoc names it "MetadataEntry",
 * and Go's protodesc (buf curl, grpcurl) refuses a map entry with any other name, losing the whole file
 * (google.rpc.ErrorInfo, grpc.health.v1's List). Renames each entry and the field that refers to it.
 */
function withMapEntryNames(messages: IDescriptorProto[]): IDescriptorProto[] {
  return messages.map((message) => {
    const renamed = new Map<string, string>();
    for (const field of message.field ?? []) {
      const entry = (message.nestedType ?? []).find((n) => n.options?.mapEntry === true && n.name === field.typeName);
      if (entry && field.name) renamed.set(entry.name!, mapEntryName(field.name));
    }
    return {
      ...message,
      field: (message.field ?? []).map((f) => (f.typeName && renamed.has(f.typeName) ? { ...f, typeName: renamed.get(f.typeName) } : f)),
      nestedType: withMapEntryNames(message.nestedType ?? []).map((n) => (n.options?.mapEntry === true && renamed.has(n.name!) ? { ...n, name: renamed.get(n.name!) } : n)),
    };
  });
}

/** protoc's entry name for a map field: the field name in CamelCase plus "Entry" (`user_roles` -> `UserRolesEntry`). */
function mapEntryName(fieldName: string): string {
  return fieldName.replace(/(?:^|_)(.)/g, (_, c: string) => c.toUpperCase()).replace(/_/g, "") + "Entry";
}

function protosOf(entry: PackageDefinition[string]): Buffer[] {
  const protos = (entry as { fileDescriptorProtos?: unknown }).fileDescriptorProtos;
  return Array.isArray(protos) ? (protos as Buffer[]) : [];
}

function indexTypes(scope: string, messages: IDescriptorProto[], enums: IEnumDescriptorProto[], add: (symbol: string) => void): void {
  const qualified = (name: string | undefined): string => (scope ? `${scope}.${name ?? ""}` : (name ?? ""));
  for (const e of enums) add(qualified(e.name));
  for (const m of messages) {
    add(qualified(m.name));
    indexTypes(qualified(m.name), m.nestedType ?? [], m.enumType ?? [], add);
  }
}

/** Every type name the file's fields and methods use. */
function referencesOf(file: IFileDescriptorProto): string[] {
  const out: string[] = [];
  const visit = (messages: IDescriptorProto[]): void => {
    for (const m of messages) {
      for (const f of [...(m.field ?? []), ...(m.extension ?? [])]) if (f.typeName) out.push(f.typeName);
      visit(m.nestedType ?? []);
    }
  };
  visit(file.messageType ?? []);
  for (const s of file.service ?? []) {
    for (const method of s.method ?? []) {
      if (method.inputType) out.push(method.inputType);
      if (method.outputType) out.push(method.outputType);
    }
  }
  return out;
}

/** The file declaring `reference`, resolved like protoc: a leading dot is absolute, else inner scopes first. */
function resolve(reference: string, pkg: string, owners: ReadonlyMap<string, string>): string | undefined {
  if (reference.startsWith(".")) return owners.get(reference.slice(1));
  const parts = pkg ? pkg.split(".") : [];
  for (let n = parts.length; n >= 0; n--) {
    const candidate = [...parts.slice(0, n), reference].join(".");
    const owner = owners.get(candidate);
    if (owner !== undefined) return owner;
  }
  return undefined;
}
