import { execFile } from "node:child_process";
import { generateKeyPair, randomBytes } from "node:crypto";
import { promises as fs } from "node:fs";
import * as path from "node:path";

/** PEM files written for one control plane; every path is inside the folder given to `generateCertificates`. */
export interface ControlPlaneCertificates {
  /** Signs the serving certificate and the client certificates (kube-apiserver's --client-ca-file). */
  caCert: string;
  servingCert: string;
  servingKey: string;
  /** Client certificate of a user in the system:masters group: every RBAC check passes. */
  adminCert: string;
  adminKey: string;
  /** Service-account token signing pair (--service-account-signing-key-file / --service-account-key-file). */
  serviceAccountKey: string;
  serviceAccountPublicKey: string;
}

export const ADMIN_USER = "tidegate-admin";
export const ADMIN_GROUP = "system:masters";

// Node can make keys but not X.509 certificates, so openssl signs them. Our own config keeps the
// system's openssl.cnf defaults out of the extensions.
const OPENSSL_CONFIG = `
[req]
distinguished_name = dn
prompt = no
[dn]
CN = placeholder
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier = hash
[server_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
`;

const VALIDITY_DAYS = "365";

function openssl(args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile("openssl", args, { cwd }, (error, _stdout, stderr) => {
      if (error === null) {
        resolve();
        return;
      }
      if ((error as NodeJS.ErrnoException).code === "ENOENT") {
        reject(
          new Error(
            "openssl is required to make the control plane's certificates and was not found on PATH " +
              "(Debian: apt-get install openssl)",
          ),
        );
        return;
      }
      reject(new Error(`openssl ${args.join(" ")} failed: ${stderr.trim() || error.message}`));
    });
  });
}

function ecKeyPair(): Promise<{ publicKey: string; privateKey: string }> {
  return new Promise((resolve, reject) =>
    generateKeyPair(
      "ec",
      {
        namedCurve: "prime256v1",
        publicKeyEncoding: { type: "spki", format: "pem" },
        privateKeyEncoding: { type: "pkcs8", format: "pem" },
      },
      (error, publicKey, privateKey) => (error ? reject(error) : resolve({ publicKey, privateKey })),
    ),
  );
}

function rsaKeyPair(): Promise<{ publicKey: string; privateKey: string }> {
  return new Promise((resolve, reject) =>
    generateKeyPair(
      "rsa",
      {
        modulusLength: 2048,
        publicKeyEncoding: { type: "spki", format: "pem" },
        privateKeyEncoding: { type: "pkcs8", format: "pem" },
      },
      (error, publicKey, privateKey) => (error ? reject(error) : resolve({ publicKey, privateKey })),
    ),
  );
}

function serial(): string {
  // Positive 64-bit serial: clear the top bit so DER does not read it as negative.
  const bytes = randomBytes(8);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return `0x${bytes.toString("hex")}`;
}

async function writePrivate(file: string, content: string): Promise<void> {
  await fs.writeFile(file, content, { mode: 0o600 });
}

async function signLeaf(
  dir: string,
  name: string,
  subject: string,
  extensions: "server_ext" | "client_ext",
): Promise<{ cert: string; key: string }> {
  const keys = await ecKeyPair();
  const key = path.join(dir, `${name}.key`);
  const csr = path.join(dir, `${name}.csr`);
  const cert = path.join(dir, `${name}.crt`);
  await writePrivate(key, keys.privateKey);
  await openssl(["req", "-new", "-config", "openssl.cnf", "-key", key, "-subj", subject, "-out", csr], dir);
  await openssl(
    [
      "x509",
      "-req",
      "-in",
      csr,
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-set_serial",
      serial(),
      "-days",
      VALIDITY_DAYS,
      "-sha256",
      "-extfile",
      "openssl.cnf",
      "-extensions",
      extensions,
      "-out",
      cert,
    ],
    dir,
  );
  await fs.rm(csr, { force: true });
  return { cert, key };
}

/**
 * Writes a fresh CA, a serving certificate for 127.0.0.1/localhost, an admin client certificate
 * (O=system:masters) and a service-account key pair into `dir`, as controller-runtime's envtest does.
 */
export async function generateCertificates(dir: string): Promise<ControlPlaneCertificates> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  await fs.writeFile(path.join(dir, "openssl.cnf"), OPENSSL_CONFIG);

  const ca = await ecKeyPair();
  await writePrivate(path.join(dir, "ca.key"), ca.privateKey);
  await openssl(
    [
      "req",
      "-x509",
      "-new",
      "-config",
      "openssl.cnf",
      "-key",
      "ca.key",
      "-subj",
      "/CN=tidegate-control-plane-ca",
      "-set_serial",
      serial(),
      "-days",
      VALIDITY_DAYS,
      "-sha256",
      "-extensions",
      "ca_ext",
      "-out",
      "ca.crt",
    ],
    dir,
  );

  const serving = await signLeaf(dir, "apiserver", "/CN=kube-apiserver", "server_ext");
  const admin = await signLeaf(dir, "admin", `/O=${ADMIN_GROUP}/CN=${ADMIN_USER}`, "client_ext");

  const serviceAccount = await rsaKeyPair();
  const serviceAccountKey = path.join(dir, "sa.key");
  const serviceAccountPublicKey = path.join(dir, "sa.pub");
  await writePrivate(serviceAccountKey, serviceAccount.privateKey);
  await fs.writeFile(serviceAccountPublicKey, serviceAccount.publicKey);

  return {
    caCert: path.join(dir, "ca.crt"),
    servingCert: serving.cert,
    servingKey: serving.key,
    adminCert: admin.cert,
    adminKey: admin.key,
    serviceAccountKey,
    serviceAccountPublicKey,
  };
}
