// gRPC server reflection (grpc.reflection.v1 and its older twin v1alpha, which some tools still
// ask first), over the file descriptors compiled into gen/: `grpcurl list`, `grpcurl describe`
// and calls by name work without .proto files. Each request on the stream gets one response:
// the services served, or a file (by name, or the one defining a symbol) with every file it
// imports, serialized as google.protobuf.FileDescriptorProto.
import { create, toBinary, type DescExtension, type DescFile, type DescService, type MessageInitShape } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import { nestedTypes } from '@bufbuild/protobuf/reflect';
import { Code, type ConnectRouter } from '@connectrpc/connect';
import { CoreDictService } from '../gen/dict/core/v1/service_pb.js';
import { file_google_rpc_error_details } from '../gen/google/rpc/error_details_pb.js';
import { Health } from '../gen/grpc/health/v1/health_pb.js';
import * as v1 from '../gen/grpc/reflection/v1/reflection_pb.js';
import * as v1alpha from '../gen/grpc/reflection/v1alpha/reflection_pb.js';

/** What reflection tells about: its files, symbols and served services. */
export interface ReflectionIndex {
  services: string[];
  fileByName(name: string): DescFile | undefined;
  fileBySymbol(symbol: string): DescFile | undefined;
  extensionsOf(typeName: string): DescExtension[];
  /** The file and every file it imports, transitively, the file first. */
  closure(file: DescFile): DescFile[];
}

export function reflectionIndex(services: DescService[], extraFiles: DescFile[] = []): ReflectionIndex {
  const files = new Map<string, DescFile>();
  const symbols = new Map<string, DescFile>();
  const extensions = new Map<string, DescExtension[]>();
  const addFile = (f: DescFile): void => {
    if (files.has(f.proto.name)) return;
    files.set(f.proto.name, f);
    for (const t of nestedTypes(f)) {
      symbols.set(t.typeName, f);
      if (t.kind === 'service') for (const m of t.methods) symbols.set(`${t.typeName}.${m.name}`, f);
      if (t.kind === 'extension') extensions.set(t.extendee.typeName, [...(extensions.get(t.extendee.typeName) ?? []), t]);
    }
    f.dependencies.forEach(addFile);
  };
  services.forEach((s) => addFile(s.file));
  extraFiles.forEach(addFile);
  return {
    services: services.map((s) => s.typeName),
    fileByName: (name) => files.get(name),
    fileBySymbol: (symbol) => symbols.get(symbol),
    extensionsOf: (typeName) => extensions.get(typeName) ?? [],
    closure(file) {
      const out: DescFile[] = [];
      const seen = new Set<string>();
      const walk = (f: DescFile) => {
        if (seen.has(f.proto.name)) return;
        seen.add(f.proto.name);
        out.push(f);
        f.dependencies.forEach(walk);
      };
      walk(file);
      return out;
    },
  };
}

type Request = v1.ServerReflectionRequest | v1alpha.ServerReflectionRequest;
type ResponseInit = NonNullable<MessageInitShape<typeof v1.ServerReflectionResponseSchema>['messageResponse']>;

/** The answer to one reflection request (shapes are identical in v1 and v1alpha). */
export function answer(index: ReflectionIndex, req: Request): ResponseInit {
  const error = (code: Code, message: string): ResponseInit => ({ case: 'errorResponse', value: { errorCode: code, errorMessage: message } });
  const files = (f: DescFile | undefined, what: string): ResponseInit =>
    f
      ? { case: 'fileDescriptorResponse', value: { fileDescriptorProto: index.closure(f).map((d) => toBinary(FileDescriptorProtoSchema, d.proto)) } }
      : error(Code.NotFound, `${what} not found`);
  const r = req.messageRequest;
  switch (r.case) {
    case 'listServices':
      return { case: 'listServicesResponse', value: { service: index.services.map((name) => ({ name })) } };
    case 'fileByFilename':
      return files(index.fileByName(r.value), `file ${r.value}`);
    case 'fileContainingSymbol':
      return files(index.fileBySymbol(r.value), `symbol ${r.value}`);
    case 'fileContainingExtension': {
      const ext = index.extensionsOf(r.value.containingType).find((e) => e.number === r.value.extensionNumber);
      return files(ext?.file, `extension ${r.value.containingType}:${r.value.extensionNumber}`);
    }
    case 'allExtensionNumbersOfType':
      if (!index.fileBySymbol(r.value)) return error(Code.NotFound, `type ${r.value} not found`);
      return {
        case: 'allExtensionNumbersResponse',
        value: { baseTypeName: r.value, extensionNumber: index.extensionsOf(r.value).map((e) => e.number) },
      };
    default:
      return error(Code.InvalidArgument, 'no request in message');
  }
}

/** The services this API serves, for reflection to name. */
export const servedServices = (): DescService[] => [CoreDictService, Health, v1.ServerReflection, v1alpha.ServerReflection];

/** Registers both reflection versions on the router. */
export function reflectionRoutes(router: ConnectRouter, index = reflectionIndex(servedServices(), [file_google_rpc_error_details])): void {
  router.service(v1.ServerReflection, {
    async *serverReflectionInfo(requests) {
      for await (const req of requests) {
        yield create(v1.ServerReflectionResponseSchema, { validHost: req.host, originalRequest: req, messageResponse: answer(index, req) });
      }
    },
  });
  router.service(v1alpha.ServerReflection, {
    async *serverReflectionInfo(requests) {
      for await (const req of requests) {
        const original = create(v1alpha.ServerReflectionRequestSchema, req);
        yield create(v1alpha.ServerReflectionResponseSchema, { validHost: req.host, originalRequest: original, // The two versions' messages have the same fields: a v1 init is a v1alpha init.
        messageResponse: answer(index, req) as MessageInitShape<typeof v1alpha.ServerReflectionResponseSchema>['messageResponse'] });
      }
    },
  });
}

