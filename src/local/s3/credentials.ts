/**
 * The access key of the embedded S3 server: s3rver's built-in account, the
 * only one whose signatures it accepts. Not a secret (the server listens on
 * loopback by default and anyone can read this file); it exists so that every
 * client of the embedded server signs with the same key from one place.
 */
export const EMBEDDED_S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
