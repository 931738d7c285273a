// Minimal typings for s3rver 3.7 (the package ships none). Only what the
// embedded server (embeddedS3.ts, frontServer.ts, s3rverStore.ts) uses;
// `store` is s3rver's FilesystemStore, which s3rver itself exposes on the
// instance (it is what configureBuckets() uses).
declare module 's3rver' {
  import type { Server } from 'node:http';
  import type { AddressInfo } from 'node:net';

  interface S3rverOptions {
    address?: string;
    port?: number;
    silent?: boolean;
    directory?: string;
    resetOnClose?: boolean;
    allowMismatchedSignatures?: boolean;
    vhostBuckets?: boolean;
    serviceEndpoint?: string;
    configureBuckets?: Array<{ name: string; configs?: Array<string | Buffer> }>;
  }

  /** Stored object metadata as returned by FilesystemStore#getMetadata. */
  interface S3rverObjectMetadata {
    etag: string; // JSON-quoted hex md5, e.g. "\"d41d8cd98f00b204e9800998ecf8427e\""
    'last-modified': string; // Date#toUTCString() of the file's mtime (second precision)
    'content-length': number;
    'content-type'?: string;
    [header: string]: string | number | undefined;
  }

  interface S3rverStore {
    getBucket(name: string): Promise<{ name: string; creationDate: Date } | null>;
    putBucket(name: string): Promise<unknown>;
    getMetadata(bucket: string, key: string): Promise<S3rverObjectMetadata>;
    existsObject(bucket: string, key: string): Promise<boolean>;
    deleteObject(bucket: string, key: string): Promise<void>;
  }

  class S3rver {
    constructor(options?: S3rverOptions);
    store: S3rverStore;
    httpServer?: Server;
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
    on(event: string, listener: (...args: unknown[]) => void): this;
  }

  export default S3rver;
}
