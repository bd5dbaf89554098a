import { type TrustAnchor, trustAnchorFrom } from '../trust.js';

/**
 * AWS Nitro Enclaves Root G1 (CN=aws.nitro-enclaves, P-384, 2019-10-28 to 2049-10-28), published
 * by AWS in "Verifying the root of trust" (AWS_NitroEnclaves_Root-G1.zip).
 */
const AWS_NITRO_ROOT_G1_B64 =
  'MIICETCCAZagAwIBAgIRAPkxdWgbkK/hHUbMtOTn+FYwCgYIKoZIzj0EAwMwSTELMAkGA1UEBhMCVVMxDzANBgNVBAoMBkFtYXpvbjEMMAoGA1UECwwDQVdTMRswGQYDVQQDDBJhd3Mubml0cm8tZW5jbGF2ZXMwHhcNMTkxMDI4MTMyODA1WhcNNDkxMDI4MTQyODA1WjBJMQswCQYDVQQGEwJVUzEPMA0GA1UECgwGQW1hem9uMQwwCgYDVQQLDANBV1MxGzAZBgNVBAMMEmF3cy5uaXRyby1lbmNsYXZlczB2MBAGByqGSM49AgEGBSuBBAAiA2IABPwCVOumCMHzaHDimtqQvkY4MpJzbolL//Zy2YlES1BR5TSksfbb48C8WBoyt7F2Bw7eEtaaP+ohG2bnUs990d0JX28TcPQXCEPZ3BABIeTPYwEoCWZEh8l5YoQwTcU/9KNCMEAwDwYDVR0TAQH/BAUwAwEB/zAdBgNVHQ4EFgQUkCW1DdkFR+eWw5b6cp3PmanfS5YwDgYDVR0PAQH/BAQDAgGGMAoGCCqGSM49BAMDA2kAMGYCMQCjfy+Rocm9Xue4YnwWmNJVA44fA0P5W2OpYow9OYCVRaEevL8uO1XYru5xtMPWrfMCMQCi85sWBbJwKKXdS6BptQFuZbT73o/gBh1qUxl/nNr12UO8Yfwr6wPLb+6NIwLz3/Y=';
/** SHA-256 of the root's DER, as published by AWS. */
export const AWS_NITRO_ROOT_G1_SHA256 = '641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79bb5b';

let root: TrustAnchor | undefined;
/**
 * The pinned AWS Nitro Enclaves Root G1.
 * @example verifyNitroDocument(doc, { at, trustAnchors: [awsNitroRootG1()] })
 */
export function awsNitroRootG1(): TrustAnchor {
  if (!root) {
    const a = trustAnchorFrom(new Uint8Array(Buffer.from(AWS_NITRO_ROOT_G1_B64, 'base64')));
    if (a.sha256 !== AWS_NITRO_ROOT_G1_SHA256) throw new Error('built-in AWS Nitro root G1 is corrupt');
    root = a;
  }
  return root;
}
